"""Video files to sampled frames through PyAV, without ever decoding a long file whole.

Containers are opened safely: FFmpeg may only use a fixed list of demuxers and the ``file`` protocol, so a
playlist or other text format cannot make it open further files or URLs. Long clips in indexed containers
(MP4/MOV, Matroska/WebM, AVI) are read by seeking to the keyframe before each sample time and decoding forward
to it, so a ten-minute file costs a few GOPs. Short clips, files of unknown length and containers without a
reliable index are decoded once, front to back, keeping a bounded, evenly thinned set of frames (memory does
not grow with length).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from visualiser.errors import InputError
from visualiser.media.clip.frames import (
    Budget,
    Clip,
    Reservoir,
    check_frame_size,
    fitted_size,
    minutes,
    same_size,
    select_evenly,
)
from visualiser.media.image import describe_unreadable
from visualiser.media.limits import MediaLimits

logger = logging.getLogger(__name__)

# Demuxers FFmpeg may pick. Audio-only formats are listed so the user hears "no video stream", not "unreadable".
DEMUXERS = (
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
# Containers whose index makes seeking to a keyframe reliable.
SEEKABLE_DEMUXERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"})


def open_container(path: Path) -> av.container.InputContainer:
    """The file opened by PyAV with the demuxer and protocol whitelists, or an ``InputError`` saying why not."""
    options = {"format_whitelist": ",".join(DEMUXERS), "protocol_whitelist": "file"}
    try:
        return av.open(str(path), mode="r", container_options=options, metadata_errors="replace")
    except av.FFmpegError as exc:
        with path.open("rb") as handle:
            prefix = handle.read(4096)
        raise InputError(f"{path.name} is not a video or image this app can read ({_why_unplayable(prefix)})") from exc


# ISO base media brands of still images (HEIC / HEIF, AVIF and its sequences): Pillow's, not a video's.
IMAGE_BRANDS = frozenset({b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif", b"avis"})


def is_video_container(prefix: bytes) -> bool:
    """Whether a file's first bytes (at least 189 for MPEG-TS) announce a video container PyAV should open.

    Such files never go to Pillow: a replaced ``PIL.Image.open`` (ultralytics installs one process-wide that, on a
    file Pillow cannot identify, tries to install and import a HEIF plugin) must not decide what a video is.
    """
    return (
        (prefix[4:8] == b"ftyp" and prefix[8:12] not in IMAGE_BRANDS)  # MP4, MOV, M4V, 3GP
        or prefix.startswith(b"\x1a\x45\xdf\xa3")  # Matroska / WebM
        or (prefix[:4] == b"RIFF" and prefix[8:12] == b"AVI ")
        or prefix.startswith((b"\x00\x00\x01\xba", b"FLV\x01", b"OggS", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"))
        or (len(prefix) > 188 and prefix[0] == 0x47 and prefix[188] == 0x47)  # MPEG-TS: a sync byte every 188
    )


def _why_unplayable(prefix: bytes) -> str:
    if is_video_container(prefix):
        return "it starts like a video file but is truncated or corrupt"
    return describe_unreadable(prefix, unknown="unknown or unsupported format; use MP4, WebM, MOV, AVI or GIF")


def video_stream(container: av.container.InputContainer, name: str) -> av.video.stream.VideoStream:
    """The first real video stream; cover art in audio files (``attached_pic``) does not count."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            if stream.codec_context is None:  # FFmpeg has no decoder for this codec id
                raise InputError(f"{name} uses a video codec this app cannot decode")
            return stream
    if container.streams.audio:
        raise InputError(f"{name} has no video stream (it contains only audio)")
    raise InputError(f"{name} has no video stream")


def frame_rate(stream: av.video.stream.VideoStream) -> float:
    """The stream's nominal frames per second; 0 when the header gives none that is plausible."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    value = float(rate) if rate else 0.0
    return value if math.isfinite(value) and 0 < value < 10_000 else 0.0


def duration_seconds(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """The stream's (else the container's) length in seconds; 0 when unknown."""
    if stream.duration:
        value = float(stream.duration * stream.time_base)
    elif container.duration:
        value = container.duration / av.time_base
    else:
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def mean_keyframe_interval(stream: av.video.stream.VideoStream) -> float:
    """Frames per keyframe from the container index; 1 (always seek) when the index lists only keyframes or none."""
    entries = stream.index_entries
    total = len(entries)
    if total == 0:
        return 1.0
    keyframes = sum(1 for entry in entries if entry.is_keyframe)
    return total / max(keyframes, 1)


_FALLBACK_FPS = 25.0  # only to space frames of a stream that has neither timestamps nor a rate
# Up to this many frames (or 8 per sample), one front-to-back pass is cheaper than a seek per sample, each of which
# decodes from the preceding keyframe.
_SEQUENTIAL_MAX_FRAMES = 150


@dataclass
class Sampled:
    """What the decoders hand back to ``load_clip``, plus counts the tests use to prove seeking happened."""

    frames: list[np.ndarray]
    times: list[float]
    mode: str
    decoded: int = 0
    rotation: int = 0
    stored_size: tuple[int, int] = (0, 0)  # (W, H) of the first decoded frame, before rotation


def clip_from_video(path: Path, num_frames: int, max_side: int, limits: MediaLimits) -> Clip:
    """``num_frames`` frames sampled evenly over a video file."""
    sampled, fps, duration, size = read_video(path, num_frames, max_side, limits)
    logger.debug(
        "%s: %s read, %d frames decoded for %d samples", path.name, sampled.mode, sampled.decoded, len(sampled.frames)
    )
    if not sampled.frames:
        raise InputError(f"{path.name} contains no decodable video frames")
    last = sampled.times[-1]
    duration = duration or (last + (1.0 / fps if fps else 0.0))
    frames = same_size(sampled.frames)
    return Clip(np.stack(frames), np.asarray(sampled.times, dtype=np.float64), fps, duration, size)


def read_video(
    path: Path, num_frames: int, max_side: int, limits: MediaLimits
) -> tuple[Sampled, float, float, tuple[int, int]]:
    """Open, validate and sample a video; returns (samples, fps, duration or 0, displayed source size)."""
    budget = Budget(limits.decode_timeout_s, path.name)
    with open_container(path) as container:
        stream = video_stream(container, path.name)
        fps, duration = frame_rate(stream), duration_seconds(container, stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        if width and height:
            check_frame_size(width, height, limits, path.name)
        if duration > limits.max_clip_seconds:
            raise InputError(
                f"{path.name} is {minutes(duration)} long; the limit is {minutes(limits.max_clip_seconds)}"
            )
        estimated_frames = stream.frames or duration * fps
        seekable = container.format.name in SEEKABLE_DEMUXERS and duration > 0 and fps > 0
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
    budget: Budget,
) -> Sampled:
    """Seek to the keyframe before each target and decode forward to it.

    When the next target is within one mean keyframe interval (read from the container index) of where decoding
    stands, decoding on is cheaper than seeking back to that same keyframe, so it does.
    """
    sampled = Sampled([], [], "seek")
    time_base = stream.time_base
    start = stream.start_time or 0
    window = mean_keyframe_interval(stream) / fps
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
    budget: Budget,
) -> Sampled:
    """Decode front to back once, keeping an evenly thinned reservoir, then pick the samples from it."""
    sampled = Sampled([], [], "sequential")
    # At least 2 × num_frames evenly spaced candidates survive, so each pick is within a quarter of the sample
    # spacing of its target; memory stays at 4 × num_frames downscaled frames whatever the length.
    reservoir = Reservoir(4 * num_frames)
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
            raise InputError(f"the clip runs past {minutes(limits.max_clip_seconds)}, the limit")
        if reservoir.wants(index):
            reservoir.add(when, _video_frame_to_rgb(frame, max_side, limits, sampled))
    times = [when for when, _ in reservoir.items]
    for index in select_evenly(times, num_frames, end=previous + step):
        sampled.times.append(times[index])
        sampled.frames.append(reservoir.items[index][1])
    return sampled


def _video_frame_to_rgb(frame: av.VideoFrame, max_side: int, limits: MediaLimits, sampled: Sampled) -> np.ndarray:
    """Scale in FFmpeg's converter straight from YUV (no full-size RGB copy of a 4K frame), then rotate for display."""
    check_frame_size(frame.width, frame.height, limits, "a clip frame")
    width, height = fitted_size(frame.width, frame.height, max_side)
    pixels = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="AREA")  # (H, W, 3)
    rotation = int(frame.rotation or 0)
    if not sampled.stored_size[0]:
        sampled.stored_size, sampled.rotation = (frame.width, frame.height), rotation
    quarter_turns = round(rotation / 90) % 4  # display matrix: rotate counter-clockwise by `rotation` degrees
    if quarter_turns:
        pixels = np.rot90(pixels, quarter_turns)
    return np.ascontiguousarray(pixels)
