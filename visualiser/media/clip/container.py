"""Opening a video container safely and reading what its headers say (stream, rate, duration, keyframe index).

FFmpeg may only use a fixed list of demuxers and the ``file`` protocol, so a playlist or other text format cannot
make it open further files or URLs.
"""

from __future__ import annotations

import math
from pathlib import Path

import av

from visualiser.errors import InputError
from visualiser.media.image import describe_unreadable

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
