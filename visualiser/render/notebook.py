"""Results in a notebook: what Jupyter shows for a result, and the figures ``result.figure(kind)`` returns.

An ``ImageResult`` shows its top-5, the channel overview and the spatial grid; a ``ClipResult`` its top-5 and the
frame × channel timeline of its focus block. Those are the eager views (numpy and Pillow, milliseconds) as PNG.
``figure`` returns matplotlib Figures for papers: axes, text and bars are vectors, heatmaps images inside them.
This module is the drawer ``visualiser.result`` calls (installed by the package root; see ``result.Notebook``).
"""

from __future__ import annotations

import base64
import html as html_text
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from visualiser.errors import InputError
from visualiser.render.channels import channel_barcode, channel_bars, channel_gate, channel_overview, gate_bars
from visualiser.render.clips import channel_timeline, default_spatial_block
from visualiser.render.compose import message_image, vstack
from visualiser.render.figures import figure_to_rgb, new_figure
from visualiser.render.options import DEFAULT_CMAP, Normalise
from visualiser.render.predictions import topk_chart
from visualiser.render.spatial import draw_overlay, normalise_text, overlay_figure, spatial_grid
from visualiser.result import BlockAttention, ClipResult, ImageResult, Prediction

PNG_LEVEL = 6  # notebooks keep their outputs: level 1 made the star example 15 % larger for 0.05 s less


# --- figures -------------------------------------------------------------------------------------------------------


def predictions_figure(predictions: Sequence[Prediction], title: str) -> Figure:
    """Top-k probabilities as horizontal bars, the first on top (x fixed to 0..100 %)."""
    fig = new_figure(6.0, 0.9 + 0.32 * max(1, len(predictions)))
    ax = fig.add_subplot()
    if not predictions:
        ax.text(0.5, 0.5, "no predictions", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        rows = np.arange(len(predictions))
        values = [100 * p.probability for p in predictions]
        ax.barh(rows, values, color="#3b528b")
        ax.set_yticks(rows, [p.label for p in predictions], fontsize=9)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("probability (%)")
        for row, value in zip(rows, values, strict=True):
            ax.text(min(value + 1, 88), row, f"{value:.1f}%", va="center", fontsize=8)
    ax.set_title(title, fontsize=10)
    return fig


def overview_figure(result: ImageResult, columns: int = 4, cmap: str = DEFAULT_CMAP) -> Figure:
    """Every block's channel gates in channel order, one small panel each (y fixed to 0..1), one colour bar."""
    blocks = [b for b in result.blocks if b.channel_gate is not None]
    if not blocks:
        raise InputError(f"{result.model_title} has no channel gates to show")
    columns = max(1, min(columns, len(blocks)))
    rows = -(-len(blocks) // columns)
    fig = new_figure(2.6 * columns + 0.8, 1.7 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    bars = None
    for ax, block in zip(axes, blocks, strict=False):
        bars = gate_bars(ax, channel_gate(block), cmap)
        ax.set_title(f"{block.label} ({block.channels} ch)", fontsize=8)
        ax.set_yticks([0.0, 0.5, 1.0])
        ax.tick_params(labelsize=7)
    for ax in axes[len(blocks) :]:
        ax.set_axis_off()
    fig.colorbar(bars, ax=list(axes), shrink=0.8, pad=0.01).set_label("gate (fixed 0..1)")
    fig.suptitle(f"{result.model_title}: channel gates of every block, in channel order", fontsize=10)
    return fig


def spatial_figure(
    result: ImageResult,
    normalise: Normalise = "block",
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    columns: int = 4,
) -> Figure:
    """Every spatial gate on the input, each with a colour bar that states its range."""
    blocks = result.spatial_blocks
    if not blocks:
        raise InputError(f"{result.model_title} has no spatial gates to show: its blocks gate channels only")
    columns = max(1, min(columns, len(blocks)))
    rows = -(-len(blocks) // columns)
    fig = new_figure(3.2 * columns, 2.9 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, block in zip(axes, blocks, strict=False):
        shown = draw_overlay(ax, result, block, alpha, cmap, normalise)
        gate = block.spatial_gate
        ax.set_title(f"{block.label} {gate.shape[0]}x{gate.shape[1]}", fontsize=8)  # type: ignore[union-attr]
        bar = fig.colorbar(shown, ax=ax, shrink=0.8, pad=0.02)
        bar.set_ticks(list(shown.get_clim()))
        bar.solids.set_alpha(1.0)  # the scale, not the see-through blend
        bar.ax.tick_params(labelsize=7)
    for ax in axes[len(blocks) :]:
        ax.set_axis_off()
    fig.suptitle(f"{result.model_title}: spatial gates ({normalise_text(normalise)})", fontsize=10)
    return fig


def _block(result: ImageResult, name: str | None, spatial: bool) -> BlockAttention:
    if name is not None:
        return result.block(name)
    candidates = result.spatial_blocks if spatial else tuple(b for b in result.blocks if b.channel_gate is not None)
    if not candidates:
        what = "spatial" if spatial else "channel"
        raise InputError(f"{result.model_title} has no {what} gates to show")
    return candidates[-1]


_IMAGE_FIGURES: dict[str, Callable[..., Figure]] = {
    "overview": overview_figure,
    "spatial": spatial_figure,
    "predictions": lambda r: predictions_figure(r.predictions, f"{r.model_title}: top {len(r.predictions)}"),
    "barcode": channel_barcode,
    "overlay": lambda r, block=None, **o: overlay_figure(r, _block(r, block, spatial=True).name, **o),
    "channels": lambda r, block=None, **o: channel_bars(_block(r, block, spatial=False), **o),
}
_CLIP_FIGURES: dict[str, Callable[..., Figure]] = {
    "predictions": lambda c: predictions_figure(c.predictions, f"{c.model_title}: top {len(c.predictions)}"),
    "timeline": lambda c, block=None, **o: channel_timeline(c, block or _timeline_block(c), **o),
}


def figure(result: ImageResult | ClipResult, kind: str = "overview", **options: Any) -> Figure:
    """The figure ``kind`` of ``result`` (see ``result.Notebook.figure`` for the kinds and their options)."""
    kinds = _CLIP_FIGURES if isinstance(result, ClipResult) else _IMAGE_FIGURES
    if kind not in kinds:
        raise InputError(f"no figure {kind!r} for a {type(result).__name__}; choose one of: {', '.join(kinds)}")
    return kinds[kind](result, **options)


# --- what Jupyter shows --------------------------------------------------------------------------------------------


def _timeline_block(clip: ClipResult) -> str:
    """The block the clip's timeline shows: the focus block when it has channel gates, else the deepest that has."""
    with_channels = [b.name for b in clip.frame_blocks(0) if b.channel_gate is not None]
    if not with_channels:
        raise InputError(f"{clip.model_title} has no channel gates to show over time")
    preferred = default_spatial_block(clip)
    return preferred if preferred in with_channels else with_channels[-1]


def pictures(result: ImageResult | ClipResult) -> list[tuple[str, np.ndarray]]:
    """The views a notebook shows, as (caption, (H, W, 3) uint8 picture), in order."""
    shown = [("top predictions", topk_chart(result.predictions, title=f"{result.model_title}: top predictions"))]
    if isinstance(result, ClipResult):
        if any(b.channel_gate is not None for b in result.frame_blocks(0)):
            shown.append(("channel gates over time", figure_to_rgb(channel_timeline(result, _timeline_block(result)))))
        return shown
    if any(b.channel_gate is not None for b in result.blocks):
        shown.append(("channel gates of every block", channel_overview(result)))
    else:
        shown.append(("channel gates", message_image(f"{result.model_title} has no channel gates.")))
    shown.append(("spatial gates on the input", spatial_grid(result)))
    return shown


def _png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return buffer.getvalue()


def png(result: ImageResult | ClipResult) -> bytes:
    """The notebook views stacked into one PNG (for front ends that show images, not HTML)."""
    return _png(vstack([picture for _, picture in pictures(result)], gap=8))


def html(result: ImageResult | ClipResult) -> str:
    """The notebook views as HTML: a line saying what this is, the note if any, then each view as an image."""
    lines = [f"<p><b>{html_text.escape(type(result).__name__)}</b>: {html_text.escape(result.summary())}</p>"]
    if result.note:
        lines.append(f"<p><i>{html_text.escape(result.note)}</i></p>")
    for caption, picture in pictures(result):
        data = base64.b64encode(_png(picture)).decode("ascii")
        lines.append(
            f'<figure style="margin:0.5em 0"><img src="data:image/png;base64,{data}" alt="{html_text.escape(caption)}"'
            f' style="max-width:100%"/><figcaption>{html_text.escape(caption)}</figcaption></figure>'
        )
    return '<div class="attention-visualiser-result">' + "".join(lines) + "</div>"
