"""Channel attention: the gate of every channel as bars, per block and for all blocks at once.

``channel_bars`` is the detailed per-block chart (matplotlib, rendered when a block is selected);
all bars are one ``PolyCollection``, so 2048 channels cost one artist, not 2048.
``channel_overview`` (small multiples) and ``channel_barcode_image`` (block × channel heatmap) are
the eager views, drawn straight into numpy arrays in milliseconds. When a block has more channels
than pixel columns, each column shows the mean of its channels (and a pale bar up to their max):
the panels say how many channels one column holds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from PIL import Image

from visualiser.errors import VisualiserError
from visualiser.render.colour import BACKGROUND, MUTED, lut
from visualiser.render.compose import colorbar_strip, hstack, vstack
from visualiser.render.figures import monospace_families, new_figure
from visualiser.render.options import DEFAULT_CMAP
from visualiser.render.text import draw_text, text_width
from visualiser.render.words import say
from visualiser.result import BlockAttention, ClipResult, ImageResult

BARS_GID = "channel-bars"  # lets tests and callers find the bar collection


def channel_gate(block: BlockAttention) -> np.ndarray:
    """The block's (C,) channel gate, or a user-facing error for blocks that have none."""
    if block.channel_gate is None:
        raise VisualiserError(f"block {block.name!r} ({block.kind}) has no channel gate")
    return block.channel_gate


def saturation(gate: np.ndarray) -> dict[str, float]:
    """The saturation meter (idea 2): mean, std and the shares of channels above 0.9 and below 0.1.

    A block with most channels above 0.9 is close to identity (SE paper, SE_5_2).
    """
    return {
        "mean": float(gate.mean()),
        "std": float(gate.std()),
        "above_0_9": float((gate > 0.9).mean()),
        "below_0_1": float((gate < 0.1).mean()),
    }


def summary_line(gate: np.ndarray, lang: str = "en") -> str:
    """One-line summary used as a chart title."""
    s = saturation(gate)
    return say(
        lang, "summary", mean=f"{s['mean']:.2f}", std=f"{s['std']:.2f}",
        high=f"{100 * s['above_0_9']:.0f}", low=f"{100 * s['below_0_1']:.0f}",
    )  # fmt: skip


def channel_bars(
    block: BlockAttention,
    sort: bool = False,
    top_k: int = 5,
    ax: Axes | None = None,
    cmap: str = DEFAULT_CMAP,
    lang: str = "en",
) -> Figure:
    """Bar chart of one block's channel gates (lazy: rendered when the block is selected).

    Bars are in channel order, or sorted descending (``sort``); y is fixed to [0, 1], the gate's range,
    so blocks can be compared by eye. The ``top_k`` largest channels are labelled by index. Draws on
    ``ax`` when given (its figure is returned), otherwise on a new Figure.
    """
    gate = channel_gate(block)
    own_figure = ax is None
    if ax is None:
        fig, ax = _bars_axes()
    else:
        fig = ax.get_figure()  # type: ignore[assignment]
    _bars_frame(ax, gate.shape[0], sort, top_k, lang)
    bars, _ = _bars_data(ax, block, sort, top_k, cmap, lang)
    colour_axes = {"cax": fig.add_axes(_COLORBAR_BOX)} if own_figure else {"ax": ax, "pad": 0.01}
    bar = fig.colorbar(bars, **colour_axes)
    bar.set_label(say(lang, "gate_fixed"))
    return fig


# Fixed margins instead of constrained layout: half the drawing time of this often-redrawn chart.
_CHART_SIZE = (9.0, 3.4)
_AXES_BOX = (0.07, 0.15, 0.83, 0.62)
_COLORBAR_BOX = (0.915, 0.15, 0.015, 0.62)


def _bars_axes() -> tuple[Figure, Axes]:
    fig = new_figure(*_CHART_SIZE, layout=None)
    return fig, fig.add_axes(_AXES_BOX)


def _bars_frame(ax: Axes, channels: int, sort: bool, top_k: int, lang: str) -> None:
    """What the chart shows whatever the gates: axis range and labels, the title's room for the top-k labels."""
    ax.set_xlim(-0.5, channels - 0.5)
    ax.set_ylim(0.0, 1.0)
    ax.set_ylabel(say(lang, "gate"))
    ax.set_xlabel(say(lang, "channels_sorted" if sort else "channel_index"))
    ax.set_title("", fontsize=9, pad=8 + 8 * min(top_k, 4))


def _bars_data(
    ax: Axes, block: BlockAttention, sort: bool, top_k: int, cmap: str, lang: str
) -> tuple[PolyCollection, list[Artist]]:
    """What the chart draws from the gates: the bars, the top-k labels and the title (with the saturation line);
    returns the bars and every artist this added."""
    gate = channel_gate(block)
    channels = gate.shape[0]
    order = np.argsort(-gate, kind="stable") if sort else np.arange(channels)
    before = set(ax.get_children())
    bars = gate_bars(ax, gate[order], cmap)
    _label_top(ax, gate, order, top_k, sort, lang)
    ax.title.set_text(say(lang, "bars_title", block=block.label, channels=channels, summary=summary_line(gate, lang)))
    added = [a for a in ax.get_children() if a not in before]
    return bars, [bars, *(a for a in added if a is not bars), ax.title]


@dataclass
class _BarsTemplate:
    """A drawn chart without its data (axes, ticks, labels, colour bar), kept to draw one block's gates on."""

    fig: Figure
    ax: Axes
    background: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_TEMPLATES: OrderedDict[tuple, _BarsTemplate] = OrderedDict()
_TEMPLATES_LOCK = threading.Lock()
_TEMPLATES_KEPT = 16


def _bars_template(channels: int, sort: bool, top_k: int, cmap: str, lang: str) -> _BarsTemplate:
    key = (channels, sort, top_k, cmap, lang)
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.get(key)
        if template is not None:
            _TEMPLATES.move_to_end(key)
            return template
    fig, ax = _bars_axes()
    _bars_frame(ax, channels, sort, top_k, lang)
    scale = ScalarMappable(Normalize(0.0, 1.0), cmap)  # the bars' colour scale, without the bars
    fig.colorbar(scale, cax=fig.add_axes(_COLORBAR_BOX)).set_label(say(lang, "gate_fixed"))
    for spine in ax.spines.values():  # drawn over each block's bars instead (once, as a full draw would)
        spine.set_visible(False)
    fig.canvas.draw()
    for spine in ax.spines.values():
        spine.set_visible(True)
    template = _BarsTemplate(fig, ax, fig.canvas.copy_from_bbox(fig.bbox))  # type: ignore[attr-defined]
    with _TEMPLATES_LOCK:
        template = _TEMPLATES.setdefault(key, template)
        while len(_TEMPLATES) > _TEMPLATES_KEPT:
            _TEMPLATES.popitem(last=False)
    return template


def channel_bars_picture(
    block: BlockAttention, sort: bool = False, top_k: int = 5, cmap: str = DEFAULT_CMAP, lang: str = "en"
) -> np.ndarray:
    """``channel_bars`` as an RGB array, drawn in a fraction of the time: the chart without its data (axes, ticks,
    labels, colour bar) is drawn once per channel count, order and language and kept; each block's bars, top-k
    labels and title are drawn onto a copy of it (matplotlib's blitting). The same picture as the figure's."""
    gate = channel_gate(block)
    template = _bars_template(gate.shape[0], bool(sort), top_k, cmap, lang)
    canvas = template.fig.canvas
    with template.lock:
        canvas.restore_region(template.background)  # type: ignore[attr-defined]
        _, drawn = _bars_data(template.ax, block, bool(sort), top_k, cmap, lang)
        try:
            # in the figure's own order (bars under the spines, labels over them), as a full draw would
            for artist in sorted([*drawn, *template.ax.spines.values()], key=lambda a: a.get_zorder()):
                template.ax.draw_artist(artist)
            picture = np.asarray(canvas.buffer_rgba())[..., :3].copy()  # type: ignore[attr-defined]
        finally:
            for artist in drawn[:-1]:
                artist.remove()
            template.ax.title.set_text("")
    return picture


def gate_bars(ax: Axes, heights: np.ndarray, cmap: str = DEFAULT_CMAP) -> PolyCollection:
    """Gates as bars on ``ax``, one ``PolyCollection`` (one artist however many channels), y fixed to [0, 1]."""
    channels = heights.shape[0]
    x = np.arange(channels, dtype=np.float64)
    half = 0.42 if channels <= 256 else 0.5  # wide bars touch when there are more bars than pixels
    verts = np.empty((channels, 4, 2))  # (C, corners, xy)
    verts[:, :, 0] = x[:, None] + np.array([-half, -half, half, half])
    verts[:, 0, 1] = verts[:, 3, 1] = 0.0
    verts[:, 1, 1] = verts[:, 2, 1] = heights
    bars = PolyCollection(verts, array=heights, cmap=cmap, linewidths=0, gid=BARS_GID)
    bars.set_clim(0.0, 1.0)
    ax.add_collection(bars)
    ax.set_xlim(-0.5, channels - 0.5)
    ax.set_ylim(0.0, 1.0)
    return bars


def _label_top(ax: Axes, gate: np.ndarray, order: np.ndarray, top_k: int, sort: bool, lang: str = "en") -> None:
    """Name the ``top_k`` largest channels: above their bars, or as a list where sorted bars leave room."""
    top = np.argsort(-gate, kind="stable")[: max(0, min(top_k, gate.shape[0]))]
    if not len(top):
        return
    if sort:
        listing = "\n".join(f"#{c}: {gate[c]:.3f}" for c in top)
        ax.text(
            0.985,
            0.96,
            f"{say(lang, 'top_channels', count=len(top))}\n{listing}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            family=monospace_families(),
            bbox={"facecolor": "white", "edgecolor": "0.7", "linewidth": 0.5},
        )
        return
    positions = np.argsort(order)[top]  # where each top channel's bar is drawn
    ax.plot(positions, np.full(len(top), 1.0), linestyle="none", marker="v", markersize=4, color="0.2", clip_on=False)
    gap = 0.04 * gate.shape[0]  # about one label width, in channels
    last_x: list[float] = []  # right-most label per text row
    for position, channel in sorted(zip(positions, top, strict=True)):
        row = next((i for i, x in enumerate(last_x) if position - x > gap), len(last_x))
        if row == len(last_x):
            last_x.append(position)
        last_x[row] = position
        ax.annotate(
            f"#{channel}",
            xy=(position, 1.0),
            xytext=(0, 5 + 8 * row),
            textcoords="offset points",
            ha="center",
            fontsize=7,
            annotation_clip=False,
        )


def channel_columns(values: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Resample a (C,) vector to ``columns``: per-column mean and max of its channels, and channels per column.

    More channels than columns: contiguous bins (every bin non-empty). Fewer: each channel is repeated.
    """
    channels = values.shape[0]
    if channels >= columns:
        edges = (np.arange(columns + 1) * channels) // columns
        mean = np.add.reduceat(values, edges[:-1]) / np.diff(edges)
        return mean.astype(np.float32), np.maximum.reduceat(values, edges[:-1]), channels / columns
    index = (np.arange(columns) * channels) // columns
    return values[index], values[index], channels / columns


def channel_panel(
    block: BlockAttention, width: int, plot_height: int = 56, cmap: str = DEFAULT_CMAP, lang: str = "en"
) -> np.ndarray:
    """One small-multiple: bars over a [0, 1] axis, a saturation strip, and two lines of text."""
    gate = channel_gate(block)
    mean, high, per_column = channel_columns(gate, width)
    rows = np.arange(plot_height, dtype=np.float32)[:, None]
    top_mean = np.round((1.0 - mean) * plot_height)[None, :]
    top_high = np.round((1.0 - high) * plot_height)[None, :]
    colours = lut(cmap)[np.round(mean * 255).astype(np.uint8)]  # (W, 3)
    pale = (0.35 * colours + 0.65 * 255.0).astype(np.uint8)
    plot = np.full((plot_height, width, 3), 255, dtype=np.uint8)
    for level in (0.5, 0.9, 0.1):
        plot[round((1.0 - level) * (plot_height - 1))] = 225
    plot = np.where((rows >= top_high)[..., None], pale[None], plot)
    plot = np.where((rows >= top_mean)[..., None], colours[None], plot)
    plot[[0, -1], :] = 160
    plot[:, [0, -1]] = 160
    meter = _saturation_strip(gate, width, cmap)
    stats = saturation(gate)
    text = Image.new("RGB", (width, 34), BACKGROUND)
    if per_column >= 1:
        density = say(lang, "per_column", value=f"{per_column:.3g}")
    else:
        density = say(lang, "per_channel", value=f"{1 / per_column:.3g}")
    head = say(lang, "panel_head", block=block.label, channels=gate.shape[0], density=density)
    line = say(
        lang, "panel_stats", mean=f"{stats['mean']:.2f}", high=f"{100 * stats['above_0_9']:.0f}",
        low=f"{100 * stats['below_0_1']:.0f}",
    )  # fmt: skip
    draw_text(text, (2, 1), head, fitting_size(head, width - 4))  # smaller rather than cut at the panel's edge
    draw_text(text, (2, 17), line, fitting_size(line, width - 4), MUTED)
    return vstack([np.asarray(text), plot, meter], gap=2)


def fitting_size(text: str, width: float, size: int = 12, smallest: int = 8) -> int:
    """The largest font size up to ``size`` (down to ``smallest``) at which ``text`` fits ``width`` pixels."""
    while size > smallest and text_width(text, size) > width:
        size -= 1
    return size


def _saturation_strip(gate: np.ndarray, width: int, cmap: str) -> np.ndarray:
    """Stacked meter: share < 0.1 in the colormap's low colour, share > 0.9 in its high colour, rest grey."""
    low = round(float((gate < 0.1).mean()) * width)
    high = round(float((gate > 0.9).mean()) * width)
    strip = np.full((5, width, 3), 210, dtype=np.uint8)
    table = lut(cmap)
    strip[:, :low] = table[0]
    strip[:, width - high :] = table[255]
    return strip


def channel_overview(
    result: ImageResult,
    columns: int = 4,
    panel_width: int = 256,
    plot_height: int = 56,
    cmap: str = DEFAULT_CMAP,
    lang: str = "en",
) -> np.ndarray:
    """Every block's channel gates as small multiples with saturation meters (eager view, numpy + Pillow).

    Each panel's y axis is the fixed gate range [0, 1] (grey lines at 0.1, 0.5, 0.9). Bars show the
    mean gate of the channels in each pixel column, the pale bar above them their max; the strip
    below is the saturation meter (low colour: share < 0.1, high colour: share > 0.9).
    """
    blocks = [b for b in result.blocks if b.channel_gate is not None]
    if not blocks:
        raise VisualiserError(say(lang, "no_channel_gates", model=result.model_title))
    panels = [channel_panel(b, panel_width, plot_height, cmap, lang) for b in blocks]
    rows = [hstack(panels[i : i + columns], gap=10) for i in range(0, len(panels), columns)]
    grid = vstack(rows, gap=8)
    label = say(lang, "overview_bar")
    return vstack([grid, colorbar_strip(grid.shape[1], 0.0, 1.0, label, cmap)], gap=6)


def barcode_matrix(blocks: Sequence[BlockAttention], width: int = 256) -> np.ndarray:
    """(blocks, width) matrix of channel gates, each block resampled to ``width`` columns by bin mean."""
    return np.stack([channel_columns(channel_gate(b), width)[0] for b in blocks])


def _barcode_axis_text(blocks: Sequence[BlockAttention], width: int, lang: str = "en") -> str:
    counts = sorted({b.channels for b in blocks})
    return say(lang, "barcode_axis", counts="/".join(map(str, counts)), width=width)


def channel_barcode_image(
    result: ImageResult, width: int = 256, row_height: int = 14, cmap: str = DEFAULT_CMAP, lang: str = "en"
) -> np.ndarray:
    """Block × channel heatmap of gates (SE paper Fig. 6 as one picture; eager view, numpy + Pillow)."""
    blocks = [b for b in result.blocks if b.channel_gate is not None]
    if not blocks:
        raise VisualiserError(say(lang, "no_channel_gates", model=result.model_title))
    matrix = barcode_matrix(blocks, width)
    cells = lut(cmap)[np.round(np.clip(matrix, 0, 1) * 255).astype(np.intp)]  # (B, width, 3)
    cells = np.repeat(np.repeat(cells, row_height, axis=0), 2, axis=1)
    label_w = 96
    canvas = Image.new("RGB", (label_w + cells.shape[1] + 4, cells.shape[0] + 24), BACKGROUND)
    canvas.paste(Image.fromarray(cells), (label_w, 2))
    for i, block in enumerate(blocks):
        draw_text(canvas, (label_w - 6, 2 + i * row_height + row_height / 2), block.label, 11, anchor="rm")
    draw_text(canvas, (label_w, cells.shape[0] + 6), _barcode_axis_text(blocks, width, lang), 11, MUTED)
    picture = np.asarray(canvas)
    return vstack([picture, colorbar_strip(picture.shape[1], 0.0, 1.0, say(lang, "barcode_bar"), cmap)])


def channel_barcode(
    result: ImageResult | ClipResult, width: int = 256, cmap: str = DEFAULT_CMAP, lang: str = "en"
) -> Figure:
    """Block × channel heatmap as a matplotlib Figure with a colorbar (for export; rendered on demand)."""
    blocks = [b for b in result.blocks if b.channel_gate is not None]
    if not blocks:
        raise VisualiserError(say(lang, "no_channel_gates", model=result.model_title))
    matrix = barcode_matrix(blocks, width)
    fig = new_figure(9.0, 1.2 + 0.22 * len(blocks))
    ax = fig.add_subplot()
    shown = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_yticks(np.arange(len(blocks)), [b.label for b in blocks], fontsize=8)
    ax.set_xlabel(_barcode_axis_text(blocks, width, lang), fontsize=8)
    ax.set_title(say(lang, "barcode_title", model=result.model_title), fontsize=10)
    fig.colorbar(shown, ax=ax, pad=0.01).set_label(say(lang, "gate"))
    return fig
