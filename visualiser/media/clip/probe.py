"""``probe_clip``: what a clip is (format, codec, size, rate, length, rotation) from its headers and first frame."""

from __future__ import annotations

import os

import av

from visualiser.errors import InputError
from visualiser.media.clip.container import duration_seconds, frame_rate, open_container, video_stream
from visualiser.media.clip.images import animation_length, open_as_image
from visualiser.media.clip.load import starts_like_video
from visualiser.media.limits import DEFAULT_LIMITS, MediaLimits, check_file


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
    image = None if starts_like_video(file) else open_as_image(file, limits)
    if image is not None:
        with image:
            count = animation_length(image)
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
    with open_container(file) as container:
        stream = video_stream(container, file.name)
        fps, duration = frame_rate(stream), duration_seconds(container, stream)
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
