"""Clips to a few evenly spaced, downscaled RGB frames, without ever decoding a long file whole.

Video goes through PyAV. Long clips in indexed containers (MP4/MOV, Matroska/WebM, AVI) are read by seeking to
the keyframe before each sample time and decoding forward to it, so a ten-minute file costs a few GOPs. Short clips,
files of unknown length and containers without a reliable index are decoded once, front to back, keeping a bounded,
evenly thinned set of frames (memory does not grow with length). Files Pillow recognises are treated as images: a
still image becomes a 1-frame clip (with EXIF orientation, like ``load_image``) and an animated GIF/WebP/PNG is
sampled frame by frame. FFmpeg may only use a fixed list of demuxers and the ``file`` protocol, so a playlist or
other text format cannot make it open further files or URLs.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image

from visualiser.errors import InputError
from visualiser.media.image import (
    DECODE_ERRORS,
    NotAnImageError,
    describe_unreadable,
    has_image_signature,
    image_to_rgb,
    load_image,
    open_image,
)
from visualiser.media.limits import DEFAULT_LIMITS, MediaLimits, check_dimensions, check_file

logger = logging.getLogger(__name__)

# Demuxers FFmpeg may pick. Audio-only formats are listed so the user hears "no video stream", not "unreadable".
_DEMUXERS = (
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "gif",
    "mpegts",
    "mpeg",
    "flv",
    "ogg",
    "asf",
    "mjpeg",
    "h264",
    "hevc",
    "m4v",
    "wav",
    "mp3",
    "aac",
    "flac",
)
_SEEKABLE_DEMUXERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"})
_FALLBACK_FPS = 25.0  # only to space frames of a stream that has neither timestamps nor a rate
_ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})
# Browsers show GIF frames with a delay of 10 ms or less for 100 ms; so do we, which keeps timestamps increasing.
_MIN_FRAME_DELAY_MS, _DEFAULT_FRAME_DELAY_MS = 10.0, 100.0
# Up to this many frames (or 8 per sample), one front-to-back pass is cheaper than a seek per sample, each of which
# decodes from the preceding keyframe.
_SEQUENTIAL_MAX_FRAMES = 150


@dataclass(frozen=True)
class Clip:
    """Frames sampled from a clip, ready for a video model.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB, rotation metadata applied, long side at most ``max_side``.
        timestamps: (T,) seconds from the start of the video stream, strictly increasing. For an array source,
            which has no frame rate, they are frame indices.
        fps: Nominal frame rate of the source; 0 when unknown (array or still image).
        duration: Best estimate of the source length in seconds; 0 for a still image or an array.
        source_size: (W, H) of the source as displayed (after rotation), before downscaling.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    fps: float
    duration: float
    source_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[3] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {self.frames.shape} {self.frames.dtype}")
        if self.timestamps.shape != (self.frames.shape[0],):
            raise ValueError(f"timestamps {self.timestamps.shape} do not match {self.frames.shape[0]} frames")


@dataclass
class _Sampled:
    """What the decoders hand back to ``load_clip``, plus counts the tests use to prove seeking happened."""

    frames: list[np.ndarray]
    times: list[float]
    mode: str
    decoded: int = 0
    rotation: int = 0
    stored_size: tuple[int, int] = (0, 0)  # (W, H) of the first decoded frame, before rotation


def load_clip(
    source: str | os.PathLike[str] | np.ndarray,
    num_frames: int = 16,
    max_side: int = 512,
    limits: MediaLimits = DEFAULT_LIMITS,
) -> Clip:
    """Sample ``num_frames`` frames evenly over a clip (the centre of each of ``num_frames`` equal segments).

    A clip with fewer frames returns all of them, never duplicates. Frames are downscaled so their long side is at
    most ``max_side``, keeping the aspect ratio.

    Args:
        source: A video or image file path, or a (T, H, W, 3) uint8 array.
        num_frames: How many frames to sample, 1 to ``limits.max_frames``.
        max_side: Longest side of the returned frames.
        limits: Caps on file size, duration, frame size and decoding time.

    Raises:
        InputError: Not a video or image; corrupt; no video stream; no frames; longer, larger or slower to decode
            than the limits allow.
    """
    if not 1 <= num_frames <= limits.max_frames:
        raise InputError(f"num_frames must be between 1 and {limits.max_frames}; got {num_frames}")
    if max_side < 1:
        raise InputError(f"max_side must be at least 1; got {max_side}")
    if isinstance(source, np.ndarray):
        return _clip_from_array(source, num_frames, max_side, limits)
    if not isinstance(source, str | os.PathLike):
        raise InputError(f"cannot read a clip from a {type(source).__name__}")
    path = check_file(source, limits)
    image_clip = _clip_from_image_file(path, num_frames, max_side, limits)
    if image_clip is not None:
        return image_clip
    return _clip_from_video(path, num_frames, max_side, limits)


def probe_clip(path: str | os.PathLike[str], limits: MediaLimits = DEFAULT_LIMITS) -> dict[str, object]:
    """Describe a clip from its headers and first frame, without decoding the rest.

    An image file is described too (a still as one frame; for an animation the duration and rate assume every frame
    lasts as long as the first).

    Returns:
        ``format``, ``codec``, ``size`` (W, H as stored), ``fps``, ``duration`` (seconds, 0 if unknown),
        ``frames`` (count from the header, else duration × fps, rounded), ``rotation`` (degrees counter-clockwise
        to display) and ``has_audio``.

    Raises:
        InputError: As for ``load_clip`` when the file cannot be opened or has no video stream.
    """
    file = check_file(path, limits)
    image = _open_as_image(file, limits)
    if image is not None:
        with image:
            count = _animation_length(image)
            frame_seconds = float(image.info.get("duration", 0) or 0) / 1000.0 if count > 1 else 0.0
            return {
                "format": str(image.format),
                "codec": str(image.format).lower(),
                "size": image.size,
                "fps": 1.0 / frame_seconds if frame_seconds > 0 else 0.0,
                "duration": count * frame_seconds,
                "frames": count,
                "rotation": 0,
                "has_audio": False,
            }
    with _open_container(file) as container:
        stream = _video_stream(container, file.name)
        fps, duration = _rate(stream), _duration(container, stream)
        frames = stream.frames or round(duration * fps)
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = 0
        if 0 < width * height <= limits.max_clip_pixels_per_frame:  # rotation is frame side data: decode one
            try:
                first = next(container.decode(stream), None)
            except av.FFmpegError as exc:
                raise InputError(f"{file.name} is a damaged video: {exc}") from exc
            if first is not None:
                rotation = int(first.rotation)
        return {
            "format": container.format.name,
            "codec": stream.codec_context.name,
            "size": (width, height),
            "fps": fps,
            "duration": duration,
            "frames": int(frames),
            "rotation": rotation,
            "has_audio": bool(container.streams.audio),
        }


def select_evenly(times: Sequence[float], count: int, end: float | None = None) -> list[int]:
    """Pick ``count`` distinct, increasing indices whose times lie nearest the centres of ``count`` equal segments.

    Greedy and order-preserving: each pick is the nearest frame to its target but at least one after the previous
    pick and leaving room for the rest, so the result always has ``min(count, len(times))`` entries.

    Args:
        times: Increasing frame times.
        count: How many to pick.
        end: End of the sampled span; defaults to one mean frame interval after the last time.
    """
    total = len(times)
    if total <= count:
        return list(range(total))
    start = times[0]
    if end is None or end <= times[-1]:
        end = times[-1] + (times[-1] - start) / (total - 1)
    positions: Sequence[float] = times
    if end <= start:  # all times equal (e.g. a GIF with zero delays): fall back to frame positions
        positions, start, end = range(total), 0.0, float(total)
    chosen: list[int] = []
    for slot in range(count):
        target = start + (slot + 0.5) * (end - start) / count
        index = bisect.bisect_left(positions, target)
        if index > 0 and (index == total or target - positions[index - 1] <= positions[index] - target):
            index -= 1
        lowest = chosen[-1] + 1 if chosen else 0
        chosen.append(min(max(index, lowest), total - (count - slot)))
    return chosen


class _Budget:
    """Wall-clock guard checked between frames: a pathological file fails instead of tying up a worker."""

    def __init__(self, seconds: float, name: str) -> None:
        self.seconds, self.name = seconds, name
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise InputError(
                f"decoding {self.name} took longer than {self.seconds:g} s; try a shorter or lower-resolution clip"
            )


class _Reservoir:
    """An evenly spaced subset of a stream of unknown length in bounded memory.

    Keeps every ``stride``-th item; when full, drops every other one and doubles the stride.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 2)
        self.stride = 1
        self.items: list[tuple[float, np.ndarray]] = []

    def wants(self, index: int) -> bool:
        return index % self.stride == 0

    def add(self, when: float, pixels: np.ndarray) -> None:
        self.items.append((when, pixels))
        if len(self.items) > self.capacity:
            self.items = self.items[::2]
            self.stride *= 2


# ---- arrays and images ------------------------------------------------------------------------------------------


def _clip_from_array(array: np.ndarray, num_frames: int, max_side: int, limits: MediaLimits) -> Clip:
    if array.ndim != 4 or array.shape[3] != 3 or array.dtype != np.uint8:
        raise InputError(f"a clip array must be (T, H, W, 3) uint8; got {array.shape} {array.dtype}")
    if array.shape[0] == 0:
        raise InputError("the clip array has no frames")
    height, width = array.shape[1:3]
    _check_frame_size(width, height, limits, "clip")
    picks = select_evenly(range(array.shape[0]), num_frames)
    frames = [_downscale(array[index], max_side) for index in picks]
    return Clip(np.stack(frames), np.asarray(picks, dtype=np.float64), 0.0, 0.0, (width, height))


def _open_as_image(path: Path, limits: MediaLimits) -> Image.Image | None:
    """The file opened by Pillow (header checked), or None when it is not an image at all."""
    try:
        return open_image(path, limits)
    except NotAnImageError:
        with path.open("rb") as handle:
            if has_image_signature(handle.read(16)):
                raise  # an image file, but damaged: its own message is the right one
        return None


def _clip_from_image_file(path: Path, num_frames: int, max_side: int, limits: MediaLimits) -> Clip | None:
    """A 1-frame clip for a still image, sampled frames for an animation; None when Pillow does not know the file."""
    image = _open_as_image(path, limits)
    if image is None:
        return None
    with image:
        if _animation_length(image) > 1:
            return _clip_from_animation(image, path.name, num_frames, max_side, limits)
    pixels = load_image(path, limits)  # a still: the same decode, orientation and messages as any image
    return Clip(_downscale(pixels, max_side)[None], np.zeros(1), 0.0, 0.0, (pixels.shape[1], pixels.shape[0]))


def _animation_length(image: Image.Image) -> int:
    """Frames of an animated GIF, WebP or PNG; 1 for anything else. A multi-page TIFF or an MPO photo (a JPEG with
    a preview or depth picture inside, as phones write) is one picture, not a clip."""
    if image.format not in _ANIMATED_FORMATS:
        return 1
    return int(getattr(image, "n_frames", 1))


def _clip_from_animation(image: Image.Image, name: str, num_frames: int, max_side: int, limits: MediaLimits) -> Clip:
    budget = _Budget(limits.decode_timeout_s, name)
    reservoir = _Reservoir(4 * num_frames)
    elapsed = 0.0
    count = _animation_length(image)
    try:
        for index in range(count):
            budget.check()
            image.seek(index)
            if reservoir.wants(index):
                reservoir.add(elapsed, _downscale(image_to_rgb(image), max_side))
            delay_ms = float(image.info.get("duration", 0) or 0)
            elapsed += (delay_ms if delay_ms > _MIN_FRAME_DELAY_MS else _DEFAULT_FRAME_DELAY_MS) / 1000.0
            if elapsed > limits.max_clip_seconds:
                raise InputError(f"{name} plays for more than {limits.max_clip_seconds:g} s; that is the limit")
    except DECODE_ERRORS as exc:
        raise InputError(f"{name} is a damaged animation: {exc}") from exc
    times = [when for when, _ in reservoir.items]
    picks = select_evenly(times, num_frames, end=elapsed)
    frames = _same_size([reservoir.items[index][1] for index in picks])
    fps = count / elapsed if elapsed > 0 else 0.0
    return Clip(np.stack(frames), np.asarray([times[i] for i in picks]), fps, elapsed, image.size)


# ---- video -----------------------------------------------------------------------------------------------------


def _clip_from_video(path: Path, num_frames: int, max_side: int, limits: MediaLimits) -> Clip:
    sampled, fps, duration, size = _read_video(path, num_frames, max_side, limits)
    logger.debug(
        "%s: %s read, %d frames decoded for %d samples", path.name, sampled.mode, sampled.decoded, len(sampled.frames)
    )
    if not sampled.frames:
        raise InputError(f"{path.name} contains no decodable video frames")
    last = sampled.times[-1]
    duration = duration or (last + (1.0 / fps if fps else 0.0))
    frames = _same_size(sampled.frames)
    return Clip(np.stack(frames), np.asarray(sampled.times, dtype=np.float64), fps, duration, size)


def _read_video(
    path: Path, num_frames: int, max_side: int, limits: MediaLimits
) -> tuple[_Sampled, float, float, tuple[int, int]]:
    """Open, validate and sample a video; returns (samples, fps, duration or 0, displayed source size)."""
    budget = _Budget(limits.decode_timeout_s, path.name)
    with _open_container(path) as container:
        stream = _video_stream(container, path.name)
        fps, duration = _rate(stream), _duration(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width and height:
            _check_frame_size(width, height, limits, path.name)
        if duration > limits.max_clip_seconds:
            raise InputError(
                f"{path.name} is {_minutes(duration)} long; the limit is {_minutes(limits.max_clip_seconds)}"
            )
        estimated_frames = stream.frames or duration * fps
        seekable = container.format.name in _SEEKABLE_DEMUXERS and duration > 0 and fps > 0
        try:
            if seekable and estimated_frames > max(8 * num_frames, _SEQUENTIAL_MAX_FRAMES):
                try:
                    sampled = _seek_sample(container, stream, num_frames, duration, fps, max_side, limits, budget)
                except _SeekUnreliable:
                    container.seek(0)
                    sampled = _sequential_sample(container, stream, num_frames, fps, max_side, limits, budget)
            else:
                sampled = _sequential_sample(container, stream, num_frames, fps, max_side, limits, budget)
        except av.FFmpegError as exc:
            raise InputError(f"{path.name} is a damaged video: {exc}") from exc
        width, height = sampled.stored_size if sampled.frames else (width, height)
        size = (height, width) if sampled.rotation % 180 else (width, height)
        return sampled, fps, duration, size


class _SeekUnreliable(Exception):
    """Frames after a seek carry no timestamps, so the sample times cannot be trusted."""


def _seek_sample(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    num_frames: int,
    duration: float,
    fps: float,
    max_side: int,
    limits: MediaLimits,
    budget: _Budget,
) -> _Sampled:
    """Seek to the keyframe before each target and decode forward to it.

    When the next target is within one mean keyframe interval (read from the container index) of where decoding
    stands, decoding on is cheaper than seeking back to that same keyframe, so it does.
    """
    sampled = _Sampled([], [], "seek")
    time_base = stream.time_base
    start = stream.start_time or 0
    window = _mean_keyframe_interval(stream) / fps
    half_frame = 0.5 / fps
    decoder = None
    position = -math.inf
    last_pts: int | None = None
    for slot in range(num_frames):
        target = (slot + 0.5) * duration / num_frames
        if decoder is None or target - position > window:
            container.seek(start + int(target / time_base), stream=stream, backward=True)
            decoder = container.decode(stream)
        chosen = fallback = None
        for frame in decoder:
            budget.check()
            sampled.decoded += 1
            if frame.pts is None:
                raise _SeekUnreliable
            position = float((frame.pts - start) * time_base)
            if last_pts is not None and frame.pts <= last_pts:
                continue
            if position >= target - half_frame:
                chosen = frame
                break
            fallback = frame
        if chosen is None:  # the stream ended before the target: take the last new frame
            chosen = fallback
        if chosen is None:
            continue
        last_pts = chosen.pts
        sampled.times.append(float((chosen.pts - start) * time_base))
        sampled.frames.append(_video_frame_to_rgb(chosen, max_side, limits, sampled))
    return sampled


def _sequential_sample(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    num_frames: int,
    fps: float,
    max_side: int,
    limits: MediaLimits,
    budget: _Budget,
) -> _Sampled:
    """Decode front to back once, keeping an evenly thinned reservoir, then pick the samples from it."""
    sampled = _Sampled([], [], "sequential")
    # At least 2 × num_frames evenly spaced candidates survive, so each pick is within a quarter of the sample
    # spacing of its target; memory stays at 4 × num_frames downscaled frames whatever the length.
    reservoir = _Reservoir(4 * num_frames)
    start = stream.start_time or 0
    step = 1.0 / (fps or _FALLBACK_FPS)
    previous = -math.inf
    for index, frame in enumerate(container.decode(stream)):
        budget.check()
        sampled.decoded += 1
        when = float((frame.pts - start) * stream.time_base) if frame.pts is not None else index * step
        when = max(when, previous + 1e-6)  # keep times increasing even when a damaged file repeats a timestamp
        previous = when
        if when > limits.max_clip_seconds:
            raise InputError(f"the clip runs past {_minutes(limits.max_clip_seconds)}, the limit")
        if reservoir.wants(index):
            reservoir.add(when, _video_frame_to_rgb(frame, max_side, limits, sampled))
    times = [when for when, _ in reservoir.items]
    for index in select_evenly(times, num_frames, end=previous + step):
        sampled.times.append(times[index])
        sampled.frames.append(reservoir.items[index][1])
    return sampled


def _video_frame_to_rgb(frame: av.VideoFrame, max_side: int, limits: MediaLimits, sampled: _Sampled) -> np.ndarray:
    """Scale in FFmpeg's converter straight from YUV (no full-size RGB copy of a 4K frame), then rotate for display."""
    _check_frame_size(frame.width, frame.height, limits, "a clip frame")
    width, height = _fitted_size(frame.width, frame.height, max_side)
    pixels = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")  # (H, W, 3)
    rotation = int(frame.rotation or 0)
    if not sampled.stored_size[0]:
        sampled.stored_size, sampled.rotation = (frame.width, frame.height), rotation
    quarter_turns = round(rotation / 90) % 4  # display matrix: rotate counter-clockwise by `rotation` degrees
    if quarter_turns:
        pixels = np.rot90(pixels, quarter_turns)
    return np.ascontiguousarray(pixels)


def _open_container(path: Path) -> av.container.InputContainer:
    options = {"format_whitelist": ",".join(_DEMUXERS), "protocol_whitelist": "file"}
    try:
        return av.open(str(path), mode="r", container_options=options, metadata_errors="replace")
    except av.FFmpegError as exc:
        with path.open("rb") as handle:
            prefix = handle.read(4096)
        raise InputError(f"{path.name} is not a video or image this app can read ({_why_unplayable(prefix)})") from exc


def _why_unplayable(prefix: bytes) -> str:
    looks_like_video = (
        prefix[4:8] == b"ftyp"
        or prefix.startswith(b"\x1a\x45\xdf\xa3")  # Matroska / WebM
        or (prefix[:4] == b"RIFF" and prefix[8:12] == b"AVI ")
    )
    if looks_like_video:
        return "it starts like a video file but is truncated or corrupt"
    return describe_unreadable(prefix, unknown="unknown or unsupported format; use MP4, WebM, MOV, AVI or GIF")


def _video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    """The first real video stream; cover art in audio files (``attached_pic``) does not count."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            if stream.codec_context is None:  # FFmpeg has no decoder for this codec id
                raise InputError(f"{name} uses a video codec this app cannot decode")
            return stream
    if container.streams.audio:
        raise InputError(f"{name} has no video stream (it contains only audio)")
    raise InputError(f"{name} has no video stream")


def _rate(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    value = float(rate) if rate else 0.0
    return value if math.isfinite(value) and 0 < value < 10_000 else 0.0


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration:
        value = float(stream.duration * stream.time_base)
    elif container.duration:
        value = container.duration / av.time_base
    else:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def _mean_keyframe_interval(stream: av.video.stream.VideoStream) -> float:
    """Frames per keyframe from the container index; 1 (always seek) when the index lists only keyframes or none."""
    entries = stream.index_entries
    total = len(entries)
    if total == 0:
        return 1.0
    keyframes = sum(1 for entry in entries if entry.is_keyframe)
    return total / max(keyframes, 1)


def _check_frame_size(width: int, height: int, limits: MediaLimits, what: str) -> None:
    check_dimensions(
        width,
        height,
        max_pixels=limits.max_clip_pixels_per_frame,
        max_side=limits.max_image_side,
        max_aspect=limits.max_aspect,
        what=what,
    )


def _fitted_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _downscale(pixels: np.ndarray, max_side: int) -> np.ndarray:
    height, width = pixels.shape[:2]
    size = _fitted_size(width, height, max_side)
    if size == (width, height):
        return np.ascontiguousarray(pixels)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def _same_size(frames: list[np.ndarray]) -> list[np.ndarray]:
    """A stream that changes resolution mid-way still stacks: later frames are resized to the first one's size."""
    height, width = frames[0].shape[:2]
    return [
        pixels if pixels.shape[:2] == (height, width) else np.asarray(Image.fromarray(pixels).resize((width, height)))
        for pixels in frames
    ]


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
