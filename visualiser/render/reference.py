"""SE paper Fig. 6 for the user's own input: its channel gates against class-mean reference curves.

Hu et al. (https://arxiv.org/abs/1709.01507, §7.2, Fig. 6) plot the mean excitation of 50 uniformly
sampled channels in the last SE block of each stage, per class and over all classes, and find early
blocks class-agnostic and late ones class-specific. This view draws the same curves, precomputed
per model, and the current input's gates on top (same channel indices for every curve).

Reference statistics file layout (``<model>.stats.npz``, written by ``save_reference_stats`` and by
the training/statistics command)::

    key   "<block name>/<class name>"   e.g. "layer4.2.se/goldfish"
    value float32 array (C,): the mean channel gate of that block over the images of that class
    key   "<block name>/__all__"        the mean over all images (the paper's reference curve)

Block names are the model's qualified module names (``layerS.i.se``), which never contain "/";
the key is split at its first "/", so class names may contain "/". Every curve of a block has the
block's channel count C.

The statistics command (``python -m visualiser stats``, ``visualiser.training``) writes a matrix
layout that also keeps spreads and counts; it is read here too::

    "classes" (K,) str, "counts" (K,) int, "blocks" (B,) str
    "<block>/class_mean" (K, C), "<block>/class_std" (K, C), "<block>/all_mean" (C,)
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from visualiser.errors import VisualiserError
from visualiser.render.channels import channel_gate
from visualiser.render.colour import CATEGORICAL
from visualiser.render.figures import new_figure
from visualiser.result import BlockAttention, ImageResult

ALL_CLASSES = "__all__"


@dataclass(frozen=True)
class ReferenceStats:
    """Class-mean channel gates per block: ``curves[block][class]`` is a (C,) float32 vector."""

    curves: Mapping[str, Mapping[str, np.ndarray]]

    def blocks(self) -> tuple[str, ...]:
        """Block names that have curves."""
        return tuple(self.curves)

    def classes(self, block: str) -> tuple[str, ...]:
        """Class names with a curve in ``block`` (without ``__all__``)."""
        return tuple(c for c in self.curves.get(block, {}) if c != ALL_CLASSES)


def load_reference_stats(path: str | os.PathLike) -> ReferenceStats:
    """Read a ``<model>.stats.npz`` in the layout described in this module's docstring."""
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
    if _MATRIX_MARKER in items:
        items = _flatten_matrix_layout(items, str(source))
    return stats_from_arrays(items, str(source))


_MATRIX_MARKER = "classes"


def _flatten_matrix_layout(items: Mapping[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Turn the statistics command's ``<block>/class_mean`` (K, C) matrices into per-class curves."""
    classes = [str(c) for c in np.asarray(items[_MATRIX_MARKER]).reshape(-1)]
    flat: dict[str, np.ndarray] = {}
    for key, value in items.items():
        block, _, kind = key.partition("/")
        if kind == "class_mean":
            if value.ndim != 2 or value.shape[0] != len(classes):
                raise VisualiserError(f"{source}: {key!r} has shape {value.shape}, expected ({len(classes)}, C)")
            for label, row in zip(classes, value, strict=True):
                flat[f"{block}/{label}"] = row
        elif kind == "all_mean":
            flat[f"{block}/{ALL_CLASSES}"] = value
    if not flat:
        raise VisualiserError(f"{source}: no '<block>/class_mean' matrices next to 'classes'")
    return flat


def stats_from_arrays(items: Mapping[str, np.ndarray], source: str = "reference statistics") -> ReferenceStats:
    """Validate ``{"<block>/<class>": (C,)}`` arrays and group them by block."""
    curves: dict[str, dict[str, np.ndarray]] = {}
    for key, value in items.items():
        block, sep, label = key.partition("/")
        if not sep or not block or not label:
            raise VisualiserError(f"{source}: key {key!r} is not '<block>/<class>'")
        if value.ndim != 1 or not np.issubdtype(value.dtype, np.floating):
            raise VisualiserError(f"{source}: {key!r} must be a 1-D float vector, got {value.dtype} {value.shape}")
        curves.setdefault(block, {})[label] = value.astype(np.float32)
    for block, per_class in curves.items():
        sizes = {v.shape[0] for v in per_class.values()}
        if len(sizes) != 1:
            raise VisualiserError(f"{source}: curves of block {block!r} have different lengths {sorted(sizes)}")
    if not curves:
        raise VisualiserError(f"{source} holds no curves")
    return ReferenceStats(curves)


def save_reference_stats(stats: ReferenceStats, path: str | os.PathLike) -> Path:
    """Write ``stats`` in the documented NPZ layout (the inverse of ``load_reference_stats``)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{b}/{c}": np.asarray(v, np.float32) for b, per in stats.curves.items() for c, v in per.items()}
    np.savez_compressed(target, **arrays)  # type: ignore[arg-type]
    return target


def sample_channels(channels: int, count: int = 50) -> np.ndarray:
    """``count`` channel indices spread uniformly over 0..C−1 (all of them when C ≤ count)."""
    if channels <= count:
        return np.arange(channels)
    return np.unique(np.round(np.linspace(0, channels - 1, count)).astype(np.intp))


def default_blocks(blocks: Sequence[BlockAttention]) -> list[str]:
    """The paper's choice: the last block of every stage, plus every block of the last stage."""
    stages = sorted({b.stage for b in blocks})
    if not stages:
        return []
    last_stage = stages[-1]
    chosen = []
    for b in blocks:
        is_last_in_stage = b.block == max(x.block for x in blocks if x.stage == b.stage)
        if is_last_in_stage or b.stage == last_stage:
            chosen.append(b.name)
    return chosen


def reference_figure(
    result: ImageResult,
    stats: ReferenceStats,
    blocks: Sequence[str] | None = None,
    classes: Sequence[str] | None = None,
    channels_per_block: int = 50,
    columns: int = 3,
) -> Figure:
    """One panel per block: this input's gates and the class-mean curves at the same sampled channels.

    Rendered on demand (matplotlib). ``blocks`` defaults to the paper's choice among the blocks that
    have reference curves; ``classes`` to every class in the statistics (at most 7, plus all-class mean).
    The class the model predicted for this input, when it has a curve, is drawn thicker.
    """
    by_name = {b.name: b for b in result.blocks if b.channel_gate is not None}
    candidates = [b for b in result.blocks if b.name in stats.curves and b.name in by_name]
    names = list(blocks) if blocks is not None else default_blocks(candidates)
    if not names:
        raise VisualiserError(f"the reference statistics have no curves for the blocks of {result.model_title}")
    for name in names:
        if name not in by_name or name not in stats.curves:
            raise VisualiserError(f"block {name!r} has no channel gate or no reference curves")
        size = next(iter(stats.curves[name].values())).shape[0]
        if size != by_name[name].channels:
            raise VisualiserError(
                f"reference statistics do not fit {result.model_title}: block {name!r} has "
                f"{by_name[name].channels} channels here and {size} in the statistics"
            )
    shown_classes = list(classes) if classes is not None else list(stats.classes(names[0]))[: len(CATEGORICAL) - 1]
    predicted = result.predictions[0].label if result.predictions else None
    rows = -(-len(names) // columns)
    fig = new_figure(4.0 * min(columns, len(names)), 2.8 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(names)), squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        block = by_name[name]
        index = sample_channels(block.channels, channels_per_block)
        x = np.arange(index.shape[0])
        curves = stats.curves[name]
        for colour, label in zip(CATEGORICAL, shown_classes, strict=False):
            if label in curves:
                width = 2.2 if label == predicted else 1.0
                ax.plot(x, curves[label][index], color=colour, linewidth=width, label=label)
        if ALL_CLASSES in curves:
            ax.plot(x, curves[ALL_CLASSES][index], color="0.45", linestyle="--", linewidth=1.4, label="all classes")
        ax.plot(
            x, channel_gate(block)[index], color="black", linewidth=1.6, marker="o", markersize=2.5, label="this input"
        )
        ax.set_ylim(0.0, 1.0)
        ticks = x[:: max(1, len(x) // 5)]
        ax.set_xticks(ticks, [str(int(index[t])) for t in ticks], fontsize=7)
        ax.set_title(f"{block.label} ({name})", fontsize=9)
        ax.set_xlabel(f"channel index ({len(index)} of {block.channels}, uniform)", fontsize=8)
        ax.set_ylabel("activation (gate)", fontsize=8)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=8, frameon=False)
    fig.suptitle(f"{result.model_title}: this input's channel gates against class means (SE paper Fig. 6)", fontsize=10)
    return fig
