"""Clip tab: analyse a clip, the attention video, views over time and the frame scrubber, in the reader's language.

Frames are counted from 1 on screen (slider and captions); the functions here take 0-based indices into the
result's frames, and the tab converts.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visualiser import catalogue
from visualiser.errors import InputError
from visualiser.models.registry import get_spec
from visualiser.types import ProgressFn
from visualiser.ui.views.arrival import arrival_dir, first_example, once
from visualiser.ui.views.cache import CLIP_RESULTS, content_key, model_key
from visualiser.ui.views.fallback import figure_or_message
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.heavy import channels, clips, internals, pipeline, uploads
from visualiser.ui.views.image import Notice, Shown, notice_view
from visualiser.ui.views.options import require
from visualiser.ui.views.phrases import say
from visualiser.ui.views.text import Label, markdown_text, model_title, predictions_label, shown_title, timings_text

if TYPE_CHECKING:
    from visualiser.result import BlockAttention, ClipResult

FRAMES_MIN, FRAMES_MAX, FRAMES_DEFAULT = 2, 32, 16  # what the frame-count slider offers for image models


def clip_result(video: str | None, model: str | None, frames: int, progress: ProgressFn | None = None) -> ClipResult:
    """The analysis of a clip, cached by content, model and frame count."""

    require(video, "upload a clip or pick an example")
    name = model or catalogue.default_model("clip")
    if name is not None:
        pipeline.get_model(name, progress=progress)  # a first use downloads: its progress is shown
    n = int(frames)
    if not 1 <= n <= 64:
        raise InputError(f"frames to sample must be between 1 and 64, not {n}")
    fixed = fixed_frames(name)
    key = (content_key(video), *model_key(name), fixed or n)
    return CLIP_RESULTS.get_or_make(
        key, lambda: pipeline.analyse_clip(video, model=name, max_frames=n, top_k=5, progress=progress, sha1=key[0])
    )


def fixed_frames(model: str | None) -> int | None:
    """The frame count a 3-D clip model always takes (None for an image model run frame by frame)."""
    if model is None:
        return None

    spec = get_spec(model)
    return spec.preprocess.frames if spec.task == "clip" else None


@dataclass(frozen=True)
class FramesControl:
    """What the frame-count slider offers for a model: a 3-D model's own count (fixed), or a free range."""

    minimum: int
    maximum: int
    value: int
    interactive: bool
    info: str


def frames_control(model: str | None, current: int = FRAMES_DEFAULT, lang: str = "en") -> FramesControl:
    """The slider for ``model``: bounded by what the model takes, and saying why when it is fixed."""
    fixed = fixed_frames(model)
    if fixed is not None:
        info = say(lang, "frames_fixed", model=model_title(model, lang), frames=fixed)
        return FramesControl(min(FRAMES_MIN, fixed), max(FRAMES_MAX, fixed), fixed, False, info)
    value = min(max(int(current or FRAMES_DEFAULT), FRAMES_MIN), FRAMES_MAX)
    return FramesControl(FRAMES_MIN, FRAMES_MAX, value, True, say(lang, "frames_free", most=FRAMES_MAX))


def clip_blocks(result: ClipResult) -> list[BlockAttention]:
    """The blocks of a clip result: its own (3-D) or those of the first frame (2-D models)."""
    return list(result.frame_blocks(0))


def _has_spatial(result: ClipResult) -> bool:
    return any(b.spatial_gate is not None for b in clip_blocks(result))


def analysed_clip(
    video: str | None,
    model: str | None,
    frames: int = 16,
    progress: ProgressFn | None = None,
    owner: str | None = None,
) -> ClipResult:
    """``clip_result`` for a caller: ``owner`` (the caller's session) may use its own uploaded networks and no
    one else's (checked before anything runs)."""

    uploads.check_access(model, owner)
    return clip_result(video, model, frames, progress)


def analyse_clip(
    video: str | None,
    model: str | None,
    frames: int = 16,
    progress: ProgressFn | None = None,
    owner: str | None = None,
) -> tuple[Label, str | None, dict[str, Any], ClipResult]:
    """Clip-level top-5, the attention video (MP4 path; None without spatial attention), a summary, the result.

    The result goes into the tab's ``gr.State`` (the API leaves it out); the other views are drawn from it.
    ``owner`` (the caller's session) may use its own uploaded networks and no one else's.
    """
    result = analysed_clip(video, model, frames, progress, owner)
    path = attention_video(result, new_output_path("attention", ".mp4"), progress)
    return predictions_label(result.predictions), path, clip_summary(result), result


def clip_summary(result: ClipResult) -> dict[str, Any]:
    """The JSON an API caller gets: the clip result's summary plus every probability."""
    summary = result.to_json()
    summary["probabilities"] = [round(float(p), 6) for p in result.probabilities]
    return summary


def attention_video(result: ClipResult, path: Path, progress: ProgressFn | None = None, lang: str = "en") -> str | None:
    """The overlay video of the focus block, written to ``path`` (None for a model without spatial attention)."""

    if not _has_spatial(result):
        return None
    if progress:
        progress(0.95, "rendering the attention video")
    return str(clips.attention_video(result, path, lang=lang))


def video_view(result: ClipResult, lang: str = "en") -> Shown:
    """The attention video in the reader's language (English comes with the analysis), or why there is none."""
    if not clip_blocks(result):
        return Shown(note=say(lang, "no_clip_attention", model=shown_title(result)))
    if not _has_spatial(result):
        return Shown(note=say(lang, "no_video", model=shown_title(result)))
    return Shown(attention_video(result, new_output_path("attention", ".mp4"), lang=lang))


_VIDEO_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="attention-video")  # one per network run (HEAVY)


def video_view_soon(result: ClipResult, lang: str = "en") -> Future[Shown]:
    """``video_view`` on a thread of its own, started now: the H.264 encoding leaves the GIL, so the caller draws
    the figures meanwhile (the click waits for the longer of the two, not their sum). Its failure is raised by
    ``result()``. It runs in a copy of the caller's context (the request's context variables go with it)."""
    return _VIDEO_POOL.submit(contextvars.copy_context().run, video_view, result, lang)


def clip_caption(result: ClipResult, lang: str = "en") -> str:
    """Which result the views show: the model, the clip and the frames it saw."""
    times = result.timestamps
    count = len(result.frames)
    if len(times) and times.dtype.kind == "f":
        span = say(lang, "frames_span", count=count, start=f"{float(times[0]):.1f}", end=f"{float(times[-1]):.1f}")
    else:
        span = say(lang, "frames_count", count=count)
    source = markdown_text(result.source) if result.source else say(lang, "clip")
    return say(lang, "caption_clip", model=shown_title(result), source=source, frames=span)


def clip_arrival() -> tuple[
    str | None, str | None, int, Label | None, str | None, dict[str, Any] | None, ClipResult | None
]:
    """The tab on arrival: the first shipped clip through the default clip model (computed once per process)."""

    model = catalogue.default_model("clip")
    path = first_example("clip")
    frames = fixed_frames(model) or FRAMES_DEFAULT

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
    """The Clip tab's per-clip views (each a ``Shown``)."""

    result: ClipResult
    blocks: list[tuple[str, str]]
    block: str | None
    over_time: Shown
    stability: Shown
    frames: int
    frame_image: Shown
    frame_chart: Shown
    notice: Notice = field(default_factory=Notice)
    timings: str = ""
    caption: str = ""


def chosen_clip_block(result: ClipResult, block: str | None) -> str | None:
    """``block`` if the clip result has it, else its focus block (None without attention)."""
    blocks = clip_blocks(result)
    names = {b.name for b in blocks}
    if block in names:
        return block
    focus = result.focus_block
    return focus.name if focus is not None else (blocks[-1].name if blocks else None)


def clip_views(result: ClipResult, lang: str = "en", block: str | None = None) -> ClipViews:
    """Views over time, stability and the first frame's views, from one stored result (no network)."""
    require(result, "analyse a clip")
    name = chosen_clip_block(result, block)
    frame_image, frame_chart = clip_frame_view(result, 0, name, lang)
    return ClipViews(
        result=result,
        blocks=[(f"{b.label} · {b.name}", b.name) for b in clip_blocks(result)],
        block=name,
        over_time=clip_time_view(result, name, lang),
        stability=stability_view(result, lang),
        frames=len(result.frames),
        frame_image=frame_image,
        frame_chart=frame_chart,
        notice=notice_view(result, lang),
        timings=timings_text(result.timings, lang),
        caption=clip_caption(result, lang),
    )


def stability_view(result: ClipResult, lang: str = "en") -> Shown:
    """How stable attention is from frame to frame (or why there is nothing to compare)."""

    if not clip_blocks(result):
        return Shown(note=say(lang, "no_clip_attention", model=shown_title(result)))
    scores = pipeline.result_scores(result).stability
    return Shown(figure_or_message(lambda: clips.stability(result, scores, lang=lang)))


def clip_frame_view(result: ClipResult, index: int, block: str | None, lang: str = "en") -> tuple[Shown, Shown]:
    """One sampled frame (0-based ``index``) with the block's attention, and the block's channel gates there."""

    require(result, "analyse a clip")
    i = int(index)
    if not 0 <= i < len(result.frames):
        raise InputError(f"frame must be between 1 and {len(result.frames)}, not {i + 1}")
    name = chosen_clip_block(result, block)
    if name is None:
        note = say(lang, "no_clip_attention", model=shown_title(result))
        return Shown(result.frames[i]), Shown(note=note)
    chosen = result.block(name, i)
    picture = clips.attention_frame(result, i, chosen.name, lang=lang)
    if chosen.channel_gate is None:
        return Shown(picture), Shown(note=say(lang, "no_timeline", block=chosen.label))
    return Shown(picture), Shown(channels.channel_bars_picture(chosen, sort=True, lang=lang))


def clip_time_view(result: ClipResult, block: str | None, lang: str = "en") -> Shown:
    """Attention over time: the frame × channel timeline (2-D models), or the block's spatio-temporal gate
    step by step (3-D models, which compute one channel gate per clip)."""

    require(result, "analyse a clip")
    name = chosen_clip_block(result, block)
    if name is None:
        return Shown(note=say(lang, "no_clip_attention", model=shown_title(result)))
    chosen = result.block(name, 0)
    if not result.is_3d:
        if chosen.channel_gate is None:
            return Shown(note=say(lang, "no_timeline", block=chosen.label))
        return Shown(clips.channel_timeline(result, chosen.name, lang=lang))
    if chosen.spatial_gate is not None:
        return Shown(internals.sam_internals_picture(chosen, lang=lang))  # the figure's picture, from a kept layout
    return Shown(note=say(lang, "no_time_view", block=chosen.label))
