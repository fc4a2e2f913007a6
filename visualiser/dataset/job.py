"""One streaming job, whatever runs it: list → decode → recorded forward → per-batch sums → merged in row order.

The engines (``local.py``, ``ray_engine.py``) hand back one ``Outcome`` per batch, in row order; this module
merges them into the running total, reports progress, and keeps a checkpoint (``<out>/sums.npz``: the total so
far, the rows done, the files skipped and what the run is) so an interrupted run resumes where it stopped:
run the same command again. Resumed or not, the total is the same sum in the same order, so the result is the
same to the last bit. A run whose model, source or batch size differ from the checkpoint's is refused (``fresh``
starts over).
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from torch import nn

from visualiser.dataset.decode import Prepare
from visualiser.dataset.local import local_outcomes
from visualiser.dataset.progress import Progress
from visualiser.dataset.records import DatasetRun, Outcome
from visualiser.dataset.report import write_outputs
from visualiser.dataset.runner import GateRunner, ModelPackage, model_digest
from visualiser.dataset.sources import FileSource, Source, read_listing, write_listing
from visualiser.dataset.sums import GateSums
from visualiser.errors import InputError, VisualiserError
from visualiser.paths import CLIP_SUFFIXES, IMAGE_SUFFIXES
from visualiser.pipeline import LoadedModel

Engine = Literal["local", "ray"]
STATE_FILE = "sums.npz"
DEFAULT_BATCH = 32


@dataclass(frozen=True)
class _Plan:
    """How a run goes: the model, how its inputs are made, the source, and the engine's settings."""

    loaded: LoadedModel
    prepare: Prepare
    source: Source
    batch: int
    engine: Engine
    workers: int | None
    address: str | None
    device: str


@dataclass
class _State:
    """What the checkpoint holds."""

    identity: dict[str, Any]
    done: int = 0
    total: GateSums | None = None
    failures: list[tuple[int, str, str]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        arrays = self.total.to_arrays() if self.total is not None else {}
        arrays["identity"] = np.array(json.dumps(self.identity))
        arrays["done"] = np.array(self.done, np.int64)
        arrays["failures"] = np.array(json.dumps(self.failures))
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> _State | None:
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as npz:
            items = {k: npz[k] for k in npz.files}
        total = GateSums.from_arrays(items) if "classes" in items else None
        failures = [tuple(f) for f in json.loads(str(items["failures"]))]
        return cls(json.loads(str(items["identity"])), int(items["done"]), total, failures)  # type: ignore[arg-type]


def resolve_loaded(model: str | nn.Module | LoadedModel, **options: Any) -> LoadedModel:
    """A registry name, a ``LoadedModel`` or any ``nn.Module`` (with ``preprocess`` / ``labels`` / ``scores``)."""
    from visualiser.models.registry import get_spec
    from visualiser.pipeline.foreign import resolve_model

    if isinstance(model, str):
        spec = get_spec(model)
        if spec.attention == "none" and not spec.provided_by_user:  # say so before loading any weights
            raise VisualiserError(f"{model} has no attention gates (SE, CBAM or ECA), so it has no gate statistics")
    given = {k: v for k, v in options.items() if v is not None}
    return resolve_model(model, default=lambda: "", **given)


def _prepare(loaded: LoadedModel) -> Prepare:
    transform = loaded.foreign.transform if loaded.foreign is not None else None
    return Prepare(loaded.spec.task, loaded.spec.preprocess, transform)


def dataset_statistics(
    model: str | nn.Module | LoadedModel,
    source: str | os.PathLike | Source,
    out: str | os.PathLike | None = None,
    *,
    preprocess: Any = None,
    labels: Sequence[str] | None = None,
    scores: Callable[[Any], Any] | None = None,
    batch_size: int | None = None,
    engine: Engine = "local",
    workers: int | None = None,
    address: str | None = None,
    device: str = "cpu",
    fresh: bool = False,
    figures: bool = True,
    always: float = 0.99,
    progress: bool = True,
    checkpoint_every: float = 60.0,
    on_batch: Callable[[int], None] | None = None,
) -> DatasetRun:
    """Gate statistics of ``model`` over a whole dataset, streamed: the SE Fig. 6 curves, saturation, pointing game.

    Args:
        model: A registry name (a checkpoint registered with ``--weights`` too), a ``LoadedModel``, or your own
            ``nn.Module`` (``preprocess`` / ``labels`` / ``scores`` as for ``analyse_image``).
        source: A folder ``<class>/<file>`` (masks beside images as ``<stem>.mask.png``), a CSV / Parquet list
            with columns ``path``, ``label`` [, ``mask``], or a ``Source`` (e.g. an embedded model's held-out
            generated data, ``tools.training.generated.held_out_source`` in the repository).
        out: Folder for the listing, the checkpoint and the outputs (``<model>.stats.npz``, ``report.json``,
            the CSV tables and figures); None keeps everything in memory (no resume, nothing written).
        batch_size: Inputs per forward pass (default 32; a ``Source`` may suggest its own).
        engine: ``"local"`` (worker processes on this machine) or ``"ray"`` (Ray Data and model actors;
            ``address`` "auto" or "ray://host:port", None starts a local Ray).
        workers: Local: decode processes (default: CPUs − 1, at least 1; 0 decodes in this process).
            Ray: model actors (default: one per CPU, or per GPU with ``device="cuda"``).
        fresh: Start over even where ``out`` holds a checkpoint of this run.
        always: Share of inputs above 0.9 (below 0.1) from which a channel counts as always on (off).
        on_batch: Called with the rows done after each merged batch.
    """
    if engine not in ("local", "ray"):
        raise InputError(f"unknown engine {engine!r}; choose local or ray")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        from visualiser.dataset.ray_engine import NEED_RAY

        raise InputError(NEED_RAY)
    batch = batch_size if batch_size is not None else getattr(source, "preferred_batch", DEFAULT_BATCH)
    if batch < 1:
        raise InputError(f"the batch size must be at least 1, not {batch}")
    loaded = resolve_loaded(model, preprocess=preprocess, labels=labels, scores=scores)
    prepare = _prepare(loaded)
    with ExitStack() as stack:
        folder = Path(out) if out is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        state = None if fresh or out is None else _State.load(folder / STATE_FILE)
        chosen = _source(source, prepare, folder, batch, reuse=state is not None)
        identity = {
            "model": loaded.spec.name,
            "weights": model_digest(loaded.model),
            "source": chosen.description,
            "files": chosen.size,
            "classes": list(chosen.classes),
            "batch_size": batch,
            "preprocess": repr(prepare.preprocess) if prepare.transform is None else _callable_name(prepare.transform),
            "device": device,
        }
        if state is not None and state.identity != identity:
            changed = sorted(k for k in identity if state.identity.get(k) != identity[k])
            raise VisualiserError(
                f"{folder} holds another run ({', '.join(changed)} differ); give another output folder, or start "
                "over with --fresh"
            )
        state = state or _State(identity)
        plan = _Plan(loaded, prepare, chosen, batch, engine, workers, address, device)
        checkpoint = folder / STATE_FILE if out is not None else None
        run = _run(plan, state, checkpoint, progress, checkpoint_every, on_batch)
        if out is not None:
            run = write_outputs(run, folder, figures=figures, always=always)
        return run


def _callable_name(function: Callable[..., Any]) -> str:
    """A user's preprocess function by name (its repr carries a memory address that changes every run)."""
    return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', type(function).__name__)}"


def _source(source: str | os.PathLike | Source, prepare: Prepare, folder: Path, batch: int, reuse: bool) -> Source:
    if not isinstance(source, str | os.PathLike):
        return source
    listing = read_listing(folder / "listing") if reuse else None
    if listing is None or listing.source != str(Path(source).resolve()) or listing.part_rows % batch:
        suffixes = CLIP_SUFFIXES if prepare.task == "clip" else IMAGE_SUFFIXES
        listing = write_listing(Path(source), suffixes, folder / "listing", batch)
    return FileSource(listing)


def _run(
    plan: _Plan,
    state: _State,
    checkpoint: Path | None,
    progress: bool,
    checkpoint_every: float,
    on_batch: Callable[[int], None] | None,
) -> DatasetRun:
    """Merge every batch's outcome into ``state`` in row order, with progress and checkpoints."""
    source, first = plan.source, state.done
    report = Progress(source.size, first) if progress and first < source.size else None
    start = last_save = time.perf_counter()
    save_cost = 0.0
    try:
        for outcome in _outcomes(plan, first):
            if outcome.first_row != state.done:
                raise RuntimeError(f"batches arrived out of order: row {outcome.first_row}, expected {state.done}")
            if outcome.sums is not None:
                state.total = outcome.sums.dense() if state.total is None else state.total.absorb(outcome.sums)
            state.done += outcome.rows
            state.failures.extend(outcome.failures)
            if report is not None:
                report.update(outcome.rows, len(outcome.failures))
            now = time.perf_counter()
            if checkpoint is not None and now - last_save >= max(checkpoint_every, 50 * save_cost):
                state.save(checkpoint)
                last_save = time.perf_counter()
                save_cost = last_save - now
            if on_batch is not None:
                on_batch(state.done)
    except BaseException:  # interrupted (Ctrl-C) or failed: keep what is done, then let it go on
        if checkpoint is not None and state.done > first:
            state.save(checkpoint)
        raise
    finally:
        if report is not None:
            report.finish()
    seconds = time.perf_counter() - start
    if checkpoint is not None:
        state.save(checkpoint)
    if state.total is None:
        raise InputError(f"none of the {source.size} inputs could be used; see the skipped files")
    return DatasetRun(
        model=plan.loaded.spec.name,
        model_title=plan.loaded.spec.title,
        source=source.description,
        sums=state.total,
        files=source.size,
        failures=tuple(state.failures),
        engine=plan.engine,
        batch_size=plan.batch,
        seconds=seconds,
        rows_this_run=state.done - first,
        resumed_from=first,
        uses_masks=plan.prepare.uses_masks,
    )


def _outcomes(plan: _Plan, first: int) -> Iterator[Outcome]:
    """The engine's outcomes from row ``first`` on."""
    if first >= plan.source.size:
        return iter(())
    loaded = plan.loaded
    if plan.engine == "local":
        count = max(1, (os.cpu_count() or 2) - 1) if plan.workers is None else plan.workers
        runner = GateRunner(loaded.model, loaded.foreign, plan.batch, plan.device)
        return local_outcomes(plan.source, plan.prepare, runner, first, count)
    from visualiser.dataset.ray_engine import ray_outcomes

    scores = loaded.foreign.scores if loaded.foreign is not None else None
    package = ModelPackage(loaded.spec.name, loaded.model, plan.prepare, loaded.foreign is not None, scores)
    return ray_outcomes(plan.source, package, plan.batch, first, plan.workers, plan.address, plan.device)
