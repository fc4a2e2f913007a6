"""Train an embedded model on its generator, within a wall-clock budget, resumably.

The run's progress is either steps done / ``steps`` or time spent / budget; the learning rate
follows the recipe's one-cycle curve over that progress, so a run stopped by its budget still
ends with a decayed learning rate. Data are deterministic (batch ``k`` is the same in every run
of a seed); the number of steps a time budget buys depends on the machine and is recorded.
A checkpoint is written every minute and picked up by a rerun with the same arguments.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tools.training.evaluation import evaluate_model
from tools.training.export import write_outputs
from tools.training.generated import HeldOutSource
from tools.training.recipes import Recipe, get_recipe, learning_rate
from tools.training.streams import class_names, generator_version, make_batch, training_batches
from visualiser.models.registry import get_spec
from visualiser.paths import ASSETS_DIR

log = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 60.0
REPORT_EVERY_S = 20.0
PROBE_EVERY_S = 120.0
PROBE_SAMPLES = 256
DEFAULT_CHECKPOINT_DIR = Path.home() / ".cache" / "attention-visualiser" / "train"


def _optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """AdamW; no weight decay on BN parameters and biases (1-D tensors), as is usual for ResNets."""
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=recipe.peak_lr, betas=(0.9, 0.99))


def _run_key(name: str, seed: int, budget_s: float | None, steps: int | None, recipe: Recipe) -> dict[str, Any]:
    return {"name": name, "seed": seed, "budget_s": budget_s, "steps": steps, "recipe": recipe.to_json()}


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def training_step(
    model: nn.Module,
    opt: torch.optim.Optimizer,
    criterion: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    grad_clip: float,
) -> float:
    """One optimiser step at learning rate ``lr``; returns the batch loss."""
    for group in opt.param_groups:
        group["lr"] = lr
    loss = criterion(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return float(loss.detach())


@torch.no_grad()
def _probe_accuracy(model: nn.Module, probe: tuple[torch.Tensor, torch.Tensor]) -> float:
    model.eval()
    correct = (model(probe[0]).argmax(1) == probe[1]).float().mean().item()
    model.train()
    return correct


def train(
    name: str,
    minutes: float | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    threads: int = 2,
    progress: bool = True,
    steps: int | None = None,
    checkpoint_dir: str | Path | None = None,
    workers: int = 1,
    evaluate_samples: int | None = None,
    batch_size: int | None = None,
    checkpoint_every_s: float = CHECKPOINT_EVERY_S,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train embedded model ``name`` and write its shipped files; returns the card.

    Args:
        name: An embedded model with a recipe (``shapes_plain``, ``shapes_se``, ``shapes_cbam``, ``motion_cbam3d``).
        minutes: Wall-clock budget of the training loop. Ignored when ``steps`` is set; when neither is
            given the recipe's step count (or, without one, its budget) applies.
        seed: Seed of the training data stream and of the initial weights.
        out_dir: Where the files go (default ``assets/models``).
        threads: Torch CPU threads.
        progress: Log a progress line every few seconds (INFO) rather than only at DEBUG level.
        steps: Train exactly this many steps instead of for a time budget.
        checkpoint_dir: Where the resumable checkpoint lives (default ``~/.cache/attention-visualiser/train``).
        workers: Processes drawing batches ahead (0: draw them in this process).
        evaluate_samples: Held-out samples for the card (default: the recipe's).
        batch_size: Override the recipe's batch size (tests use tiny batches).
        checkpoint_every_s: Seconds of training between checkpoints.
        on_step: Called with (step, loss) after every step (tests use it).
    """
    recipe = get_recipe(name)
    if batch_size is not None:
        recipe = replace(recipe, batch_size=batch_size)
    spec = get_spec(name)
    pre = spec.preprocess
    out = Path(out_dir) if out_dir is not None else ASSETS_DIR / "models"
    if steps is None and minutes is None:
        steps = recipe.steps
    budget_s = None if steps is not None else 60.0 * (minutes if minutes is not None else recipe.minutes)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    level = logging.INFO if progress else logging.DEBUG

    # channels_last is ~1.4x faster for these small convolutions on CPU; saved weights are unaffected.
    memory_format = torch.channels_last if spec.task == "image" else torch.contiguous_format
    model = spec.builder().to(memory_format=memory_format)
    model.train()
    opt = _optimizer(model, recipe)
    criterion = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    key = _run_key(name, seed, budget_s, steps, recipe)
    ckpt_path = Path(checkpoint_dir or DEFAULT_CHECKPOINT_DIR) / f"{name}-seed{seed}.pt"
    step, elapsed, history = 0, 0.0, []
    if ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        if state.get("key") == key:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            step, elapsed, history = state["step"], state["elapsed"], state["history"]
            log.log(level, "resuming %s from step %d (%.1f min done)", name, step, elapsed / 60)
        else:
            log.warning("ignoring checkpoint %s: it belongs to a run with other settings", ckpt_path)

    probe_batch = make_batch(recipe.data, recipe.eval_seed + 1, PROBE_SAMPLES, pre)
    probe = (probe_batch.inputs, probe_batch.labels)
    last_step = steps if steps is not None else step + 10**8
    batches = training_batches(
        recipe.data, seed, recipe.batch_size, pre, step, last_step, workers=workers, ramp_samples=recipe.ramp_samples
    )
    ema_loss = None
    tick = time.perf_counter()
    last_ckpt = last_report = last_probe = elapsed
    report_samples, report_elapsed = 0, elapsed
    try:
        for x, y in batches:
            done = step / steps if steps is not None else elapsed / budget_s  # type: ignore[operator]
            if done >= 1.0:
                break
            lr = learning_rate(recipe, done)
            x = x.contiguous(memory_format=memory_format)
            value = training_step(model, opt, criterion, x, y, lr, recipe.grad_clip)
            step += 1
            ema_loss = value if ema_loss is None else 0.98 * ema_loss + 0.02 * value
            now = time.perf_counter()
            elapsed += now - tick
            tick = now
            report_samples += len(y)
            if elapsed - last_probe >= PROBE_EVERY_S:
                history.append(
                    {
                        "step": step,
                        "minutes": round(elapsed / 60, 2),
                        "loss": round(ema_loss, 4),
                        "probe_accuracy": round(_probe_accuracy(model, probe), 4),
                    }
                )
                log.log(level, "%s probe: %s", name, history[-1])
                last_probe = elapsed
                tick = time.perf_counter()  # the probe is not training time
            if elapsed - last_report >= REPORT_EVERY_S:
                rate = report_samples / max(1e-9, elapsed - report_elapsed)
                left = (budget_s - elapsed) / 60 if budget_s is not None else (steps - step) * (elapsed / step) / 60
                log.log(
                    level,
                    "%s step %d | %.0f%% | loss %.4f | lr %.2e | %.0f samples/s | %.1f min left",
                    name,
                    step,
                    100 * done,
                    ema_loss,
                    lr,
                    rate,
                    left,
                )
                last_report, report_samples, report_elapsed = elapsed, 0, elapsed
            if elapsed - last_ckpt >= checkpoint_every_s:
                _save_checkpoint(
                    ckpt_path,
                    {
                        "key": key,
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "step": step,
                        "elapsed": elapsed,
                        "history": history,
                    },
                )
                last_ckpt = elapsed
                tick = time.perf_counter()
            if on_step is not None:
                on_step(step, value)
    finally:
        del batches  # stops the worker process

    samples = evaluate_samples if evaluate_samples is not None else recipe.eval_samples
    log.log(
        level, "%s: trained %d steps in %.1f min; evaluating on %d held-out samples", name, step, elapsed / 60, samples
    )
    model = model.to(memory_format=torch.contiguous_format).eval()  # evaluate exactly as the shipped weights run
    start_eval = time.perf_counter()
    result, _ = evaluate_model(model, spec, recipe.data, samples, recipe.eval_seed)
    classes = class_names(recipe.data)
    stats = None
    if spec.attention in ("se", "cbam", "eca"):  # the shipped Fig. 6 statistics: the dataset job, held-out data
        from visualiser.dataset import dataset_statistics
        from visualiser.pipeline import LoadedModel

        held_out = HeldOutSource(recipe.data, recipe.eval_seed, samples)
        run = dataset_statistics(LoadedModel(spec, model, classes), held_out, workers=0, progress=False)
        stats = run.sums.reference_stats()
    card = {
        "name": name,
        "title": spec.title,
        "task": spec.task,
        "attention": spec.attention,
        "data": {
            "generator": recipe.data,
            "generator_version": generator_version(recipe.data),
            "train_seed": seed,
            "train_samples": step * recipe.batch_size,
            "eval_seed": recipe.eval_seed,
            "eval_samples": samples,
        },
        "training": {
            "recipe": recipe.to_json(),
            "optimizer": "AdamW (betas 0.9, 0.99)",
            "schedule": "linear warm-up then cosine decay over the run's progress",
            "steps": step,
            "budget_minutes": None if budget_s is None else budget_s / 60,
            "wall_time_s": round(elapsed, 1),
            "threads": threads,
            "final_loss_ema": ema_loss,
            "history": history,
        },
        "metrics": result,
        "evaluation_time_s": round(time.perf_counter() - start_eval, 1),
    }
    paths = write_outputs(out, spec, model, classes, card, stats)
    ckpt_path.unlink(missing_ok=True)
    log.log(
        level,
        "%s: accuracy %.4f%s; wrote %s",
        name,
        result["accuracy"],
        f", pointing game {result['pointing_game']:.4f}" if "pointing_game" in result else "",
        ", ".join(str(p) for p in paths),
    )
    return card
