"""Class-mean channel excitation per block: the reference curves of the SE paper's Fig. 6 view.

For each attention block and each class group, the mean (and spread) of the channel gate over the
inputs of that group, plus the mean over all inputs. The groups are either the classes of an
embedded model's own held-out data (``source="generated"``) or the sub-folders of a folder of
labelled inputs (``folder/<class name>/*.png``), which works for any registered model and for any
``torch.nn.Module`` (your own network, through ``pipeline.foreign_model``).

Saved as a small ``.npz``: ``classes`` (K,), ``counts`` (K,), ``blocks`` (B,), and per block
``<block>/class_mean`` (K, C), ``<block>/class_std`` (K, C), ``<block>/all_mean`` (C,).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from visualiser.errors import InputError, VisualiserError
from visualiser.models.registry import ModelSpec, get_spec
from visualiser.paths import CLIP_SUFFIXES, IMAGE_SUFFIXES
from visualiser.reference_stats import save_reference_stats, stats_from_arrays
from visualiser.training.gates import GateRecord, collect_gates
from visualiser.training.metrics import class_means

FOLDER_BATCH = 16


def statistics_from_gates(record: GateRecord, labels: np.ndarray, classes: Sequence[str]) -> dict[str, np.ndarray]:
    """Turn recorded channel gates and their labels into the statistics arrays."""
    channel = record.stacked_channel()
    if not channel:
        raise VisualiserError(
            "this model has no channel attention (SE, CBAM or ECA), so it has no excitation statistics"
        )
    out: dict[str, np.ndarray] = {
        "classes": np.array(list(classes)),
        "blocks": np.array(list(channel)),
        "counts": np.bincount(labels, minlength=len(classes)).astype(np.int64),
    }
    for block, gates in channel.items():
        mean, std, _ = class_means(gates, labels, len(classes))
        out[f"{block}/class_mean"] = mean
        out[f"{block}/class_std"] = std
        out[f"{block}/all_mean"] = gates.mean(0).astype(np.float32)
    return out


def _folder_items(folder: Path, suffixes: frozenset[str]) -> tuple[list[str], list[tuple[Path, int]]]:
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; expected folder/<class name>/<files>")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    items = [
        (f, k)
        for k, c in enumerate(classes)
        for f in sorted((folder / c).iterdir())
        if f.is_file() and f.suffix.lower() in suffixes
    ]
    if not items:
        kinds = ", ".join(sorted(suffixes))
        raise InputError(f"{folder} has no class sub-folders with usable files ({kinds})")
    return classes, items


def _folder_batches(
    spec: ModelSpec, items: list[tuple[Path, int]], prepare: Callable[[np.ndarray], torch.Tensor] | None = None
) -> Iterator[torch.Tensor]:
    from visualiser.media import load_clip, load_image
    from visualiser.preprocess import preprocess_clip, preprocess_image

    for start in range(0, len(items), FOLDER_BATCH):
        tensors = []
        for path, _ in items[start : start + FOLDER_BATCH]:
            if spec.task == "clip":
                clip = load_clip(path, num_frames=spec.preprocess.frames or 16)
                tensors.append(preprocess_clip(clip.frames, spec.preprocess)[0])
            elif prepare is not None:
                tensors.append(prepare(load_image(path)))
            else:
                tensors.append(preprocess_image(load_image(path), spec.preprocess)[0])
        yield torch.cat(tensors)


def _foreign_statistics(model: nn.Module, source: str | Path, options: dict[str, Any]) -> dict[str, np.ndarray]:
    from visualiser.pipeline.foreign import foreign_model, prepare_image

    if str(source) == "generated":
        raise InputError("generated data exists only for the embedded models; give a folder <class name>/<files>")
    loaded = foreign_model(model, **options)
    suffixes = CLIP_SUFFIXES if loaded.spec.task == "clip" else IMAGE_SUFFIXES
    classes, items = _folder_items(Path(source), suffixes)
    batches = _folder_batches(loaded.spec, items, lambda pixels: prepare_image(pixels, loaded)[0])
    record = collect_gates(model, batches, foreign=loaded.foreign)
    return statistics_from_gates(record, np.array([k for _, k in items], dtype=np.int64), classes)


def class_statistics(
    name: str | nn.Module, source: str | Path, samples: int = 1000, seed: int | None = None, **options: Any
) -> dict[str, np.ndarray]:
    """Class-mean channel excitation of model ``name`` (a registry name or any ``nn.Module``) over ``source``.

    Args:
        name: Any registered model (its weights are loaded as the app loads them), or your own network;
            ``options`` (``preprocess``, ``labels``, ``scores``) then go to ``pipeline.foreign_model``.
        source: ``"generated"`` for an embedded model's own held-out data (``samples`` of stream
            ``seed``), or a folder ``<class name>/<file>`` of images (clips for a clip model).
        samples: How many generated samples (generated source only).
        seed: Held-out stream (generated source only); defaults to the card's evaluation seed.
    """
    from visualiser.models.loading import create_model

    if isinstance(name, nn.Module):
        return _foreign_statistics(name, source, options)
    spec = get_spec(name)
    if spec.attention == "none":  # say so before loading (or downloading) any weights
        raise VisualiserError(f"{name} has no channel attention (SE, CBAM or ECA), so it has no excitation statistics")
    model = create_model(name)
    if str(source) == "generated":
        from visualiser.training.evaluation import evaluate_model
        from visualiser.training.recipes import get_recipe
        from visualiser.training.streams import class_names

        recipe = get_recipe(name)
        result, record = evaluate_model(model, spec, recipe.data, samples, recipe.eval_seed if seed is None else seed)
        return statistics_from_gates(record, result["_labels"], class_names(recipe.data))
    suffixes = CLIP_SUFFIXES if spec.task == "clip" else IMAGE_SUFFIXES
    classes, items = _folder_items(Path(source), suffixes)
    record = collect_gates(model, _folder_batches(spec, items))
    labels = np.array([k for _, k in items], dtype=np.int64)
    return statistics_from_gates(record, labels, classes)


def save_statistics(stats: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write the statistics in the one ``.stats.npz`` format (``visualiser.reference_stats``), checked first."""
    return save_reference_stats(stats_from_arrays(stats, str(path)), path)
