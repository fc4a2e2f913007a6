"""SE paper Fig. 6 for the user's own input: its channel gates against class-mean reference curves.

Hu et al. (https://arxiv.org/abs/1709.01507, §7.2, Fig. 6) plot the mean excitation of 50 uniformly
sampled channels in the last SE block of each stage, per class and over all classes, and find early
blocks class-agnostic and late ones class-specific. This view draws the same curves, precomputed
per model, and the current input's gates on top (same channel indices for every curve).

The statistics are read by ``visualiser.reference_stats`` (the one ``<model>.stats.npz`` format).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from visualiser.errors import VisualiserError
from visualiser.reference_stats import ALL_CLASSES, ReferenceStats
from visualiser.render.channels import channel_gate
from visualiser.render.colour import CATEGORICAL
from visualiser.render.figures import new_figure
from visualiser.render.words import say
from visualiser.result import BlockAttention, ImageResult


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
    lang: str = "en",
) -> Figure:
    """One panel per block: this input's gates and the class-mean curves at the same sampled channels.

    Rendered on demand (matplotlib). ``blocks`` defaults to the paper's choice among the blocks that
    have reference curves; ``classes`` to the classes in the statistics, at most 7 (the palette's colours), with
    the class the model predicted for this input always among them, drawn thicker; plus the all-class mean.
    """
    all_curves = stats.curves
    by_name = {b.name: b for b in result.blocks if b.channel_gate is not None}
    candidates = [b for b in result.blocks if b.name in all_curves and b.name in by_name]
    names = list(blocks) if blocks is not None else default_blocks(candidates)
    if not names:
        raise VisualiserError(f"the reference statistics have no curves for the blocks of {result.model_title}")
    for name in names:
        if name not in by_name or name not in all_curves:
            raise VisualiserError(f"block {name!r} has no channel gate or no reference curves")
        size = next(iter(all_curves[name].values())).shape[0]
        if size != by_name[name].channels:
            raise VisualiserError(
                f"reference statistics do not fit {result.model_title}: block {name!r} has "
                f"{by_name[name].channels} channels here and {size} in the statistics"
            )
    predicted = result.predictions[0].label if result.predictions else None
    shown_classes = list(classes) if classes is not None else shown_reference_classes(stats.classes, predicted)
    rows = -(-len(names) // columns)
    fig = new_figure(4.0 * min(columns, len(names)), 2.8 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, min(columns, len(names)), squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        block = by_name[name]
        index = sample_channels(block.channels, channels_per_block)
        x = np.arange(index.shape[0])
        curves = all_curves[name]
        for colour, label in zip(CATEGORICAL, shown_classes, strict=False):
            if label in curves:
                width = 2.2 if label == predicted else 1.0
                ax.plot(x, curves[label][index], color=colour, linewidth=width, label=label)
        if ALL_CLASSES in curves:
            ax.plot(
                x, curves[ALL_CLASSES][index], color="0.45", linestyle="--", linewidth=1.4,
                label=say(lang, "all_classes"),
            )  # fmt: skip
        ax.plot(
            x, channel_gate(block)[index], color="black", linewidth=1.6, marker="o", markersize=2.5,
            label=say(lang, "this_input"),
        )  # fmt: skip
        ax.set_ylim(0.0, 1.0)
        ticks = x[:: max(1, len(x) // 5)]
        ax.set_xticks(ticks, [str(int(index[t])) for t in ticks], fontsize=7)
        ax.set_title(f"{block.label} ({name})", fontsize=9)
        ax.set_xlabel(say(lang, "ref_axis", shown=len(index), channels=block.channels), fontsize=8)
        ax.set_ylabel(say(lang, "ref_activation"), fontsize=8)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=8, frameon=False)
    fig.suptitle(say(lang, "ref_title", model=result.model_title), fontsize=10)
    return fig


def shown_reference_classes(classes: Sequence[str], predicted: str | None) -> list[str]:
    """The class curves drawn: the first classes the palette can colour, the predicted one always among them."""
    room = len(CATEGORICAL) - 1
    chosen = list(classes)[:room]
    if predicted is not None and predicted in classes and predicted not in chosen:
        chosen = [*chosen[: room - 1], predicted]
    return chosen
