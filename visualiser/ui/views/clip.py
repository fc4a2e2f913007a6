"""Clip tab: analyse a clip, the attention video, views over time and the frame scrubber."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from visualiser import catalogue
from visualiser.errors import InputError
from visualiser.types import ProgressFn
from visualiser.ui.views.cache import CLIP_RESULTS, content_key
from visualiser.ui.views.fallback import figure_or_message
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.image import outside_notice
from visualiser.ui.views.options import require
from visualiser.ui.views.text import Label, predictions_label, timings_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from visualiser.result import BlockAttention, ClipResult


def clip_result(video: str | None, model: str | None, frames: int, progress: ProgressFn | None = None) -> ClipResult:
    """The analysis of a clip, cached by content, model and frame count."""
    from visualiser import pipeline

    require(video, "upload a clip or pick an example")
    name = model or catalogue.default_model("clip")
    if name is not None:
        pipeline.get_model(name, progress=progress)  # a first use downloads: its progress is shown
    n = int(frames)
    if not 1 <= n <= 64:
        raise InputError(f"frames to sample must be between 1 and 64, not {n}")
    key = (content_key(video), name, n)
    return CLIP_RESULTS.get_or_make(
        key, lambda: pipeline.analyse_clip(video, model=name, max_frames=n, top_k=5, progress=progress, sha1=key[0])
    )


def clip_blocks(result: ClipResult) -> list[BlockAttention]:
    """The blocks of a clip result: its own (3-D) or those of the first frame (2-D models)."""
    return list(result.frame_blocks(0))


def _has_spatial(result: ClipResult) -> bool:
    return any(b.spatial_gate is not None for b in clip_blocks(result))


def analyse_clip(
    video: str | None, model: str | None, frames: int = 16, progress: ProgressFn | None = None
) -> tuple[Label, str | None, dict[str, Any], ClipResult]:
    """Clip-level top-5, the attention video (MP4 path; None without spatial attention), a summary, the result.

    The result goes into the tab's ``gr.State`` (the API leaves it out); the other views are drawn from it.
    """
    result = clip_result(video, model, frames, progress)
    path = attention_video(result, new_output_path("attention", ".mp4"), progress)
    return predictions_label(result.predictions), path, clip_summary(result), result


def clip_summary(result: ClipResult) -> dict[str, Any]:
    """The JSON an API caller gets: the clip result's summary plus every probability."""
    summary = result.to_json()
    summary["probabilities"] = [round(float(p), 6) for p in result.probabilities]
    return summary


def attention_video(result: ClipResult, path: Path, progress: ProgressFn | None = None) -> str | None:
    """The overlay video of the focus block, written to ``path`` (None for a model without spatial attention)."""
    from visualiser.render import clips

    if not _has_spatial(result):
        return None
    if progress:
        progress(0.95, "rendering the attention video")
    return str(clips.attention_video(result, path))


def clip_caption(result: ClipResult) -> str:
    """Which result the views show: the model, the clip and the frames it saw."""
    times = result.timestamps
    span = f"{len(result.frames)} frames"
    if len(times):
        unit = "s" if result.timestamps.dtype.kind == "f" else ""
        span += f" at {float(times[0]):.1f}–{float(times[-1]):.1f} {unit}".rstrip()
    source = result.source or "clip"
    return f"{result.model_title} · {source} · {span}"


def clip_arrival() -> tuple[
    str | None, str | None, int, Label | None, str | None, dict[str, Any] | None, ClipResult | None
]:
    """The tab on arrival: the first shipped clip through the default clip model (computed once per process)."""
    from visualiser.ui.views.arrival import arrival_dir, first_example, once

    model = catalogue.default_model("clip")
    path = first_example("clip")
    frames = 16

    def make() -> tuple:
        result = clip_result(str(path), model, frames)
        video = attention_video(result, arrival_dir() / f"clip-{result.model}.mp4")
        return predictions_label(result.predictions), video, clip_summary(result), result

    done = once("clip", make) if path is not None else None
    if done is None:
        return None, model, frames, None, None, None, None
    return (str(path), model, frames, *done)


@dataclass(frozen=True)
class ClipViews:
    """The Clip tab's per-clip views."""

    result: ClipResult
    blocks: list[tuple[str, str]]
    block: str | None
    over_time: Figure | None
    stability: Figure | None
    frames: int
    frame_image: np.ndarray
    frame_chart: Figure | None
    timings: str = ""
    caption: str = ""
    notice: str = ""  # the input is outside what an embedded network learned


def clip_views(result: ClipResult) -> ClipViews:
    """Views over time, stability and the first frame's views, from one stored result (no network)."""
    from visualiser.analysis.stability import stability_scores
    from visualiser.render import clips

    require(result, "analyse a clip")
    blocks = clip_blocks(result)
    caption = clip_caption(result)
    if not blocks:
        picture = result.frames[0]
        timings = timings_text(result.timings)
        notice = outside_notice(result)
        return ClipViews(result, [], None, None, None, len(result.frames), picture, None, timings, caption, notice)
    block = result.focus_block.name if result.focus_block is not None else blocks[-1].name
    frame_image, frame_chart = clip_frame_view(result, 0, block)
    return ClipViews(
        result=result,
        blocks=[(f"{b.label} · {b.name}", b.name) for b in blocks],
        block=block,
        over_time=clip_time_view(result, block),
        stability=figure_or_message(lambda: clips.stability(result, stability_scores(result))),
        frames=len(result.frames),
        frame_image=frame_image,
        frame_chart=frame_chart,
        timings=timings_text(result.timings),
        caption=caption,
        notice=outside_notice(result),
    )


def clip_frame_view(result: ClipResult, index: int, block: str | None) -> tuple[np.ndarray, Figure | None]:
    """One sampled frame with the block's attention heatmap, and the block's channel gates at that frame."""
    from visualiser.render import channels, clips

    require(result, "analyse a clip")
    i = int(index)
    if not 0 <= i < len(result.frames):
        raise InputError(f"frame must be between 0 and {len(result.frames) - 1}, not {i}")
    chosen = result.block(block, i)
    picture = clips.attention_frame(result, i, chosen.name) if chosen.spatial_gate is not None else result.frames[i]
    chart = channels.channel_bars(chosen, sort=True) if chosen.channel_gate is not None else None
    return picture, chart


def clip_time_view(result: ClipResult, block: str | None) -> Figure | None:
    """Attention over time: the frame × channel timeline (2-D models), or the block's spatio-temporal gate
    step by step (3-D models, which compute one channel gate per clip)."""
    from visualiser.render import clips, internals

    require(result, "analyse a clip")
    chosen = result.block(block, 0)
    if not result.is_3d:
        return clips.channel_timeline(result, chosen.name) if chosen.channel_gate is not None else None
    if chosen.spatial_gate is not None:
        return internals.sam_internals(chosen)
    return None
