"""Figures of a whole dataset's gate statistics (``python -m visualiser stats``): numbers in, Figures out.

Fig. 6 of the SE paper for every block (class-mean excitation over sampled channels), the saturation of every
block per class, each block's channels by how often they were on or off, and the pointing game per block. The
numbers are computed by ``visualiser.dataset.report``; nothing here computes a statistic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from visualiser.reference_stats import ALL_CLASSES, ReferenceStats
from visualiser.render.colour import CATEGORICAL
from visualiser.render.figures import new_figure
from visualiser.render.reference import sample_channels

SEQUENTIAL = "viridis"


def _grid(fig: Figure, panels: int, columns: int) -> list:
    cols = max(1, min(columns, panels))
    rows = -(-panels // cols)
    axes = list(np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel())
    for ax in axes[panels:]:
        ax.set_axis_off()
    return axes[:panels]


def class_mean_curves(stats: ReferenceStats, title: str, channels_per_block: int = 50, columns: int = 4) -> Figure:
    """SE paper Fig. 6 for every block: each class's mean gate at uniformly sampled channels, and all classes'.

    With more classes than colours, the first ``len(CATEGORICAL) - 1`` are drawn (the all-class mean always).
    """
    blocks = stats.blocks()
    curves = stats.curves
    shown = list(stats.classes)[: len(CATEGORICAL) - 1]
    cols = max(1, min(columns, len(blocks)))
    fig = new_figure(3.6 * cols, 2.5 * -(-len(blocks) // cols) + 0.8)
    for ax, block in zip(_grid(fig, len(blocks), columns), blocks, strict=True):
        size = stats.class_mean[block].shape[1]
        index = sample_channels(size, channels_per_block)
        x = np.arange(index.shape[0])
        for colour, label in zip(CATEGORICAL, shown, strict=False):
            ax.plot(x, curves[block][label][index], color=colour, linewidth=1.0, label=label)
        if ALL_CLASSES in curves[block]:
            ax.plot(x, curves[block][ALL_CLASSES][index], color="0.3", linestyle="--", linewidth=1.4, label="all")
        ax.set_ylim(0.0, 1.0)
        ticks = x[:: max(1, len(x) // 5)]
        ax.set_xticks(ticks, [str(int(index[t])) for t in ticks], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(block, fontsize=9)
        ax.set_xlabel(f"channel ({len(index)} of {size})", fontsize=7)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 8), fontsize=8, frameon=False)
    counts = ", ".join(f"{c} {n}" for c, n in zip(stats.classes, stats.counts, strict=True))
    extra = "" if len(stats.classes) <= len(shown) else f" (first {len(shown)} of {len(stats.classes)} classes)"
    fig.suptitle(f"{title}: mean channel gate per class{extra} (SE paper Fig. 6)\n{counts[:160]}", fontsize=9)
    return fig


def saturation_map(
    classes: Sequence[str], blocks: Sequence[str], saturated: np.ndarray, shut: np.ndarray, title: str
) -> Figure:
    """Two class × block maps: the share of gates above 0.9, and below 0.1 (the saturation meter, per class)."""
    height = 3.2 + 0.22 * len(classes)
    fig = new_figure(max(7.0, 0.5 * len(blocks) * 2 + 3.0), min(height, 24.0))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, values, what in ((axes[0], saturated, "share of gates > 0.9"), (axes[1], shut, "share of gates < 0.1")):
        image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap=SEQUENTIAL, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(blocks)), list(blocks), rotation=90, fontsize=7)
        ax.set_title(what, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    if len(classes) <= 60:
        axes[0].set_yticks(range(len(classes)), list(classes), fontsize=7)
    else:
        axes[0].set_ylabel(f"{len(classes)} classes", fontsize=8)
    fig.suptitle(f"{title}: saturation of every block, per class", fontsize=10)
    return fig


def channel_shares(
    blocks: Sequence[str], above: Sequence[np.ndarray], below: Sequence[np.ndarray], always: float, title: str
) -> Figure:
    """Per block, every channel's share of inputs with its gate above 0.9 and below 0.1, sorted, with the line
    from which a channel counts as always on (off)."""
    cols = max(1, min(4, len(blocks)))
    fig = new_figure(3.4 * cols, 2.2 * -(-len(blocks) // cols) + 0.8)
    for ax, block, high, low in zip(_grid(fig, len(blocks), cols), blocks, above, below, strict=True):
        x = np.linspace(0.0, 1.0, high.shape[0])
        ax.plot(x, np.sort(high)[::-1], color=CATEGORICAL[5], linewidth=1.4, label="gate > 0.9")
        ax.plot(x, np.sort(low)[::-1], color=CATEGORICAL[4], linewidth=1.4, label="gate < 0.1")
        ax.axhline(always, color="0.4", linestyle=":", linewidth=1.0, label=f"always ({always:.0%})")
        on, off = int((high >= always).sum()), int((low >= always).sum())
        ax.set_title(f"{block}: {on} on, {off} off of {high.shape[0]}", fontsize=8)
        ax.set_ylim(0.0, 1.02)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("channels, by share (sorted)", fontsize=7)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    fig.suptitle(f"{title}: share of inputs on which each channel is on (> 0.9) or off (< 0.1)", fontsize=10)
    return fig


def pointing_game(
    blocks: Sequence[str],
    rates: np.ndarray,
    trials: np.ndarray,
    classes: Sequence[str],
    per_class: np.ndarray,
    title: str,
) -> Figure:
    """The pointing game per spatial block (bars), with each class's rate (dots); ``per_class`` is (K, B), NaN
    where a class had no masked input."""
    fig = new_figure(max(5.0, 0.9 * len(blocks) + 2.5), 3.4)
    ax = fig.subplots()
    x = np.arange(len(blocks))
    ax.bar(x, rates, color=CATEGORICAL[1], width=0.6, label="all inputs")
    for k, label in enumerate(classes[: len(CATEGORICAL)]):
        ax.scatter(x, per_class[k], color=CATEGORICAL[k], s=12, zorder=3, label=label)
    for xi, rate, n in zip(x, rates, trials, strict=True):
        ax.text(xi, min(rate, 0.92) + 0.03, f"{rate:.1%}\nn={int(n)}", ha="center", fontsize=7)
    ax.set_xticks(x, list(blocks), rotation=30, fontsize=7, ha="right")
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("hits (gate maximum on the object)", fontsize=8)
    fig.legend(fontsize=7, frameon=False, loc="outside right upper")
    fig.suptitle(f"{title}: pointing game of every spatial gate", fontsize=10)
    return fig
