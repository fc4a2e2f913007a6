"""Clip views: the spatial-attention overlay frame by frame (scrubber and MP4), the channel timeline,
and how stable attention is from one frame to the next (feature idea 8; the scores come from
``visualiser.analysis.stability``).

2-D models saw each sampled frame on its own, so frame ``i`` shows ``per_frame[i]``'s gate. 3-D models
produce one (T', H', W') gate for the whole clip; its time axis spans the same frames, so frame ``i``
(of T) reads the gate at time ``(i + 0.5)·T'/T − 0.5``, linearly interpolated between neighbouring
slices (edges clamped): the same half-pixel rule as the spatial mapping.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from matplotlib.figure import Figure

from visualiser.errors import VisualiserError
from visualiser.media.encode import write_video
from visualiser.render.canvas_map import crop_box_on
from visualiser.render.channels import channel_panel
from visualiser.render.colour import DIVERGING_CMAP
from visualiser.render.compose import caption, colorbar_strip, fit_size, outline, pad_even, resize_rgb, vstack
from visualiser.render.figures import message_figure, new_figure
from visualiser.render.options import DEFAULT_CMAP
from visualiser.render.spatial import paint_gate
from visualiser.render.words import say
from visualiser.result import BlockAttention, ClipResult, CropGeometry

if TYPE_CHECKING:
    from visualiser.scores import StabilityScores

ClipNormalise = Literal["clip", "frame", "fixed01"]


def default_spatial_block(clip: ClipResult) -> str:
    """The clip's focus block (``ClipResult.focus_block``); an error when the model has no attention blocks."""
    block = clip.focus_block
    if block is None:
        raise VisualiserError(f"{clip.model_title} has no attention blocks to show")
    return block.name


def _check_index(clip: ClipResult, index: int) -> None:
    if not 0 <= index < len(clip.frames):
        raise VisualiserError(f"frame {index} is outside 0..{len(clip.frames) - 1}")


def gate_time(frame: int, frames: int, gate_frames: int) -> float:
    """Where frame ``frame`` of ``frames`` falls on a gate with ``gate_frames`` time slices."""
    return float(np.clip((frame + 0.5) * gate_frames / frames - 0.5, 0.0, gate_frames - 1))


def frame_gate(clip: ClipResult, index: int, block_name: str) -> tuple[np.ndarray, CropGeometry, BlockAttention]:
    """The 2-D gate that belongs to frame ``index``, the geometry it maps through, and its block."""
    _check_index(clip, index)
    block = clip.block(block_name, index)
    if not clip.is_3d:
        if block.spatial_gate is None:
            raise VisualiserError(f"block {block_name!r} ({block.kind}) has no spatial gate")
        return block.spatial_gate, clip.per_frame[index].geometry, block
    if block.spatial_gate is None or block.spatial_gate.ndim != 3:
        raise VisualiserError(f"block {block_name!r} ({block.kind}) has no spatio-temporal gate")
    if clip.geometry is None:
        raise VisualiserError("this clip result has no crop geometry to place the gate with")
    gates = block.spatial_gate  # (T', H', W')
    tau = gate_time(index, len(clip.frames), gates.shape[0])
    lower = math.floor(tau)
    upper = min(lower + 1, gates.shape[0] - 1)
    weight = np.float32(tau - lower)
    return (1.0 - weight) * gates[lower] + weight * gates[upper], clip.geometry, block


def _all_gates(clip: ClipResult, block_name: str) -> list[np.ndarray]:
    """The block's spatial gates over the clip: one per frame (image models) or the one 3-D gate."""
    gates = [clip.block(block_name, i).spatial_gate for i in range(max(1, len(clip.per_frame)))]
    return [g for g in gates if g is not None]


def clip_range(clip: ClipResult, block_name: str, normalise: ClipNormalise, own: np.ndarray) -> tuple[float, float]:
    """Colour range: the block over the whole clip (no flicker), the frame's own, or [0, 1]."""
    if normalise == "fixed01":
        return 0.0, 1.0
    if normalise == "frame":
        return float(own.min()), float(own.max())
    if normalise == "clip":
        gates = _all_gates(clip, block_name)
        return float(min(g.min() for g in gates)), float(max(g.max() for g in gates))
    raise VisualiserError(f"normalise must be 'clip', 'frame' or 'fixed01', not {normalise!r}")


def attention_frame(
    clip: ClipResult,
    index: int,
    block_name: str | None = None,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    normalise: ClipNormalise = "clip",
    max_side: int | None = 640,
    lang: str = "en",
) -> np.ndarray:
    """Frame ``index`` with its spatial-attention overlay, a caption and a colorbar (for a scrubber).

    For a block without a spatial gate (SE, ECA) the frame is shown with the crop outlined and the
    block's channel gates at that frame as bars below it: what attention there is, honestly drawn.
    """
    name = block_name or default_spatial_block(clip)
    _check_index(clip, index)
    frame = _display_frame(clip.frames[index], max_side)
    if clip.timestamps.dtype.kind == "f":
        when = say(lang, "when", frame=index + 1, frames=len(clip.frames), time=f"{float(clip.timestamps[index]):.2f}")
    else:  # an array clip has no frame rate: its timestamps are indices
        when = say(lang, "when_index", frame=index + 1, frames=len(clip.frames))
    if clip.block(name, index).spatial_gate is None:
        return _channel_frame(clip, index, name, frame, when, cmap, lang)
    gate, geometry, block = frame_gate(clip, index, name)
    lo, hi = clip_range(clip, name, normalise, gate)
    painted = paint_gate(frame, gate, geometry, lo, hi, alpha, cmap)
    if clip.is_3d:
        slices = block.spatial_gate.shape[0]  # type: ignore[union-attr]
        position = gate_time(index, len(clip.frames), slices) + 1
        detail = say(lang, "gate_3d", slice=f"{position:.2f}", slices=slices)
    else:
        detail = say(lang, "gate_2d")
    text = caption(painted.shape[1], [f"{block.label}  {when}", detail], 12)
    bar = colorbar_strip(painted.shape[1], lo, hi, say(lang, f"clip_norm_{normalise}"), cmap)
    return vstack([painted, text, bar])


MIN_WIDTH = 320  # narrower frames are enlarged so that captions and colorbars stay readable


def _display_frame(frame: np.ndarray, max_side: int | None) -> np.ndarray:
    """The frame at display size: at most ``max_side`` on its long side, at least ``MIN_WIDTH`` wide."""
    size = (frame.shape[1], frame.shape[0])
    if max_side is not None:
        size = fit_size(size, max_side, max_side)
    if size[0] < MIN_WIDTH:
        size = (MIN_WIDTH, max(1, round(size[1] * MIN_WIDTH / size[0])))
    return resize_rgb(frame, size)


def _channel_frame(
    clip: ClipResult, index: int, name: str, frame: np.ndarray, when: str, cmap: str, lang: str = "en"
) -> np.ndarray:
    """A frame of a channel-only block: the picture (crop outlined) above the block's gates at that frame."""
    geometry = clip.geometry if clip.is_3d else clip.per_frame[index].geometry
    if geometry is not None:
        frame = outline(frame, crop_box_on(geometry, (frame.shape[1], frame.shape[0])))
    block = clip.block(name, index)
    scope = say(lang, "scope_3d" if clip.is_3d else "scope_2d")
    text = caption(frame.shape[1], [f"{block.label}  {when}", say(lang, "no_spatial_block", scope=scope)], 12)
    panel = channel_panel(block, frame.shape[1], 64, cmap, lang)
    bar = colorbar_strip(frame.shape[1], 0.0, 1.0, say(lang, "barcode_bar"), cmap)
    return vstack([frame, text, panel, bar], gap=2)


def attention_video(
    clip: ClipResult,
    path: str | os.PathLike,
    block_name: str | None = None,
    fps: int = 4,
    alpha: float = 0.5,
    cmap: str = DEFAULT_CMAP,
    normalise: ClipNormalise = "clip",
    lang: str = "en",
) -> Path:
    """Every sampled frame with its overlay, written as MP4 (H.264, yuv420p, even size) via PyAV."""
    if fps < 1:
        raise VisualiserError(f"fps must be at least 1, got {fps}")
    name = block_name or default_spatial_block(clip)
    images = [
        pad_even(attention_frame(clip, i, name, alpha, cmap, normalise, lang=lang)) for i in range(len(clip.frames))
    ]
    height, width = images[0].shape[:2]
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_video(target, (image[:height, :width] for image in images), fps)


def channel_matrix(clip: ClipResult, block_name: str) -> np.ndarray:
    """(T, C) channel gates of one block, frame by frame; a 3-D model has one row (one gate per clip)."""
    gates = [clip.block(block_name, i).channel_gate for i in range(max(1, len(clip.per_frame)))]
    if any(g is None for g in gates):
        raise VisualiserError(f"block {block_name!r} has no channel gate")
    return np.stack(gates)  # type: ignore[arg-type]


def channel_timeline(clip: ClipResult, block_name: str, cmap: str = DEFAULT_CMAP, lang: str = "en") -> Figure:
    """Frame × channel heatmap of one block's gates (fixed 0..1 colours); rendered on demand.

    A 3-D model computes one channel gate for the whole clip: the chart then has one row and says so.
    """
    matrix = channel_matrix(clip, block_name)
    block = clip.block(block_name)
    fig = new_figure(9.0, 1.6 + 0.22 * matrix.shape[0])
    ax = fig.add_subplot()
    shown = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    if clip.is_3d:
        ax.set_yticks([0], [say(lang, "whole_clip")], fontsize=7)
        ax.set_ylabel(say(lang, "one_gate"))
    else:
        step = max(1, matrix.shape[0] // 12)
        rows = np.arange(0, matrix.shape[0], step)
        ax.set_yticks(rows, [_time_tick(clip, i) for i in rows], fontsize=7)
        ax.set_ylabel(say(lang, "frame_time"))
    ax.set_xlabel(say(lang, "channel_index"))
    ax.set_title(say(lang, "timeline_title", label=block.label, name=block_name), fontsize=10)
    fig.colorbar(shown, ax=ax, pad=0.01).set_label(say(lang, "gate"))
    return fig


def _time_tick(clip: ClipResult, index: int) -> str:
    """A frame's time (seconds), or its 1-based position for array clips without a frame rate."""
    if clip.timestamps.dtype.kind == "f":
        return f"{float(clip.timestamps[index]):.2f} s"
    return f"#{index + 1}"


def _nothing_to_compare(clip: ClipResult, lang: str = "en") -> str:
    if len(clip.frames) < 2:
        return say(lang, "one_frame")
    return say(lang, "no_change_3d")


_STABILITY_PANELS = {
    "channel_cosine": ((None, 1.0), DEFAULT_CMAP),
    "spatial_correlation": ((-1.0, 1.0), DIVERGING_CMAP),
}


def stability(clip: ClipResult, scores: StabilityScores, lang: str = "en") -> Figure:
    """Heatmaps (block × consecutive pair) of the clip's stability scores, each block's mean in its label.

    ``scores`` is ``pipeline.result_scores(clip).stability``; rendered on demand.
    """
    if scores.is_empty:
        return message_figure(_nothing_to_compare(clip, lang))
    both = (("channel_cosine", scores.channel_cosine), ("spatial_correlation", scores.spatial_correlation))
    panels = [(key, per_block) for key, per_block in both if any(len(v) for v in per_block.values())]
    labels = {b.name: b.label for b in clip.frame_blocks(0)}
    rows = max(len(v) for _, v in panels)
    fig = new_figure(9.0, 1.4 + 0.28 * rows * len(panels))
    axes = np.atleast_1d(fig.subplots(len(panels), 1, squeeze=False)).ravel()
    for ax, (key, per_block) in zip(axes, panels, strict=True):
        (lo, hi), cmap = _STABILITY_PANELS[key]
        if key == "channel_cosine":
            title = say(lang, "stab_channel")
        else:
            title = say(lang, "stab_spatial_slice" if scores.over_time_slices else "stab_spatial_frame")
        width = max(len(v) for v in per_block.values())
        padded = np.full((len(per_block), width), np.nan)  # 3-D blocks can have different T'
        for row, values in enumerate(per_block.values()):
            padded[row, : len(values)] = values
        matrix = np.ma.masked_invalid(padded)
        if lo is None:
            lo = float(min(matrix.min(), 0.9)) if matrix.count() else 0.0
        shown = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        means = [np.nanmean(v) if np.isfinite(v).any() else float("nan") for v in per_block.values()]
        ax.set_yticks(
            np.arange(len(per_block)),
            [
                say(lang, "block_mean", label=labels.get(n, n), mean=f"{m:.2f}")
                for n, m in zip(per_block, means, strict=True)
            ],
            fontsize=7,
        )
        ax.set_xlabel(say(lang, "pairs_slices" if scores.over_time_slices else "pairs_frames"))
        ax.set_title(title, fontsize=9)
        fig.colorbar(shown, ax=ax, pad=0.01).set_label(f"{lo:.2f}..{hi:.2f}")
    fig.suptitle(say(lang, "stability_title", model=clip.model_title), fontsize=10)
    return fig
