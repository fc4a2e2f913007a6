"""The one ``<model>.stats.npz`` format: class-mean channel gates per block, the SE paper's Fig. 6 reference.

Written by the dataset job (``python -m visualiser stats``, ``visualiser.dataset``; the repository's training
tool runs the same job over the held-out data); read by the Fig. 6 view. No pickled objects; every array is named::

    "classes" (K,) str      class names, in label order
    "counts"  (K,) int      inputs per class
    "blocks"  (B,) str      block names (``layerS.i.se``), in forward order
    "<block>/class_mean" (K, C) float32   mean channel gate of that block over each class's inputs
    "<block>/class_std"  (K, C) float32   their spread (optional)
    "<block>/all_mean"   (C,)   float32   the mean over all inputs (the paper's reference curve)
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visualiser.errors import VisualiserError

ALL_CLASSES = "__all__"  # the all-class curve's name among ``curves``


@dataclass(frozen=True)
class ReferenceStats:
    """Per block: the (K, C) class means, their spread, the (C,) all-class mean; the K class names and counts."""

    classes: tuple[str, ...]
    counts: np.ndarray
    class_mean: Mapping[str, np.ndarray]
    all_mean: Mapping[str, np.ndarray]
    class_std: Mapping[str, np.ndarray]

    def blocks(self) -> tuple[str, ...]:
        """Block names that have curves, in forward order."""
        return tuple(self.class_mean)

    @property
    def curves(self) -> dict[str, dict[str, np.ndarray]]:
        """``curves[block][class]`` (C,) and ``curves[block]["__all__"]``: what the Fig. 6 view draws."""
        out: dict[str, dict[str, np.ndarray]] = {}
        for block, matrix in self.class_mean.items():
            out[block] = {label: row for label, row in zip(self.classes, matrix, strict=True)}
            if block in self.all_mean:
                out[block][ALL_CLASSES] = self.all_mean[block]
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The NPZ's arrays (see the module docstring)."""
        arrays: dict[str, np.ndarray] = {
            "classes": np.array(self.classes),
            "counts": np.asarray(self.counts, np.int64),
            "blocks": np.array(self.blocks()),
        }
        for block, matrix in self.class_mean.items():
            arrays[f"{block}/class_mean"] = matrix
            if block in self.class_std:
                arrays[f"{block}/class_std"] = self.class_std[block]
            if block in self.all_mean:
                arrays[f"{block}/all_mean"] = self.all_mean[block]
        return arrays


def stats_from_arrays(items: Mapping[str, np.ndarray], source: str = "reference statistics") -> ReferenceStats:
    """Validate the format's arrays (a sentence naming the first thing that does not fit) and group them."""
    if "classes" not in items:
        raise VisualiserError(f"{source}: no 'classes' array; expected the layout of `python -m visualiser stats`")
    classes = tuple(str(c) for c in np.asarray(items["classes"]).reshape(-1))
    counts = np.asarray(items.get("counts", np.zeros(len(classes), np.int64))).reshape(-1)
    means: dict[str, np.ndarray] = {}
    stds: dict[str, np.ndarray] = {}
    alls: dict[str, np.ndarray] = {}
    for key, value in items.items():
        block, _, kind = key.rpartition("/")
        if not block:
            continue
        value = np.asarray(value)
        if not np.issubdtype(value.dtype, np.floating):
            raise VisualiserError(f"{source}: {key!r} must hold floats, not {value.dtype}")
        if kind in ("class_mean", "class_std"):
            if value.ndim != 2 or value.shape[0] != len(classes):
                raise VisualiserError(f"{source}: {key!r} has shape {value.shape}, expected ({len(classes)}, C)")
            (means if kind == "class_mean" else stds)[block] = value.astype(np.float32)
        elif kind == "all_mean":
            if value.ndim != 1:
                raise VisualiserError(f"{source}: {key!r} has shape {value.shape}, expected (C,)")
            alls[block] = value.astype(np.float32)
    if not means:
        raise VisualiserError(f"{source}: no '<block>/class_mean' matrices next to 'classes'")
    for block, matrix in means.items():
        if block in alls and alls[block].shape[0] != matrix.shape[1]:
            raise VisualiserError(f"{source}: curves of block {block!r} have different lengths")
    order = [str(b) for b in np.asarray(items.get("blocks", np.array(list(means)))).reshape(-1) if str(b) in means]
    ordered = {b: means[b] for b in [*order, *(b for b in means if b not in order)]}
    return ReferenceStats(classes, counts, ordered, alls, stds)


def load_reference_stats(path: str | os.PathLike) -> ReferenceStats:
    """Read a ``<model>.stats.npz``; a missing, unreadable or malformed file is a ``VisualiserError``."""
    source = Path(path)
    if not source.is_file():
        raise VisualiserError(
            f"reference statistics {source} not found; compute them with `python -m visualiser stats`"
        )
    try:
        with source.open("rb") as handle, np.load(handle, allow_pickle=False) as data:  # our handle: closed on errors
            items = {key: np.asarray(data[key]) for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise VisualiserError(f"reference statistics {source} cannot be read: {exc}") from exc
    return stats_from_arrays(items, str(source))


def save_reference_stats(stats: ReferenceStats, path: str | os.PathLike) -> Path:
    """Write ``stats`` as a compressed NPZ (no pickled objects); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(target, **stats.to_arrays())
    return target if target.suffix == ".npz" else target.with_name(target.name + ".npz")
