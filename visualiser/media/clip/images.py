"""Image files as clips: a still becomes a one-frame clip, an animated GIF / WebP / PNG is sampled frame by frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from visualiser.errors import InputError
from visualiser.media.clip.frames import Budget, Clip, Reservoir, downscale, same_size, select_evenly
from visualiser.media.image import (
    DECODE_ERRORS,
    NotAnImageError,
    has_image_signature,
    image_to_rgb,
    load_image,
    open_image,
)
from visualiser.media.limits import MediaLimits

_ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})
# Browsers show GIF frames with a delay of 10 ms or less for 100 ms; so do we, which keeps timestamps increasing.
_MIN_FRAME_DELAY_MS, _DEFAULT_FRAME_DELAY_MS = 10.0, 100.0


def open_as_image(path: Path, limits: MediaLimits) -> Image.Image | None:
    """The file opened by Pillow (header checked), or None when it is not an image at all."""
    try:
        return open_image(path, limits)
    except NotAnImageError:
        with path.open("rb") as handle:
            if has_image_signature(handle.read(16)):
                raise  # an image file, but damaged: its own message is the right one
        return None


def clip_from_image_file(path: Path, num_frames: int, max_side: int, limits: MediaLimits) -> Clip | None:
    """A 1-frame clip for a still image, sampled frames for an animation; None when Pillow does not know the file."""
    image = open_as_image(path, limits)
    if image is None:
        return None
    with image:
        if animation_length(image) > 1:
            return _clip_from_animation(image, path.name, num_frames, max_side, limits)
    pixels = load_image(path, limits)  # a still: the same decode, orientation and messages as any image
    return Clip(downscale(pixels, max_side)[None], np.zeros(1), 0.0, 0.0, (pixels.shape[1], pixels.shape[0]))


def animation_length(image: Image.Image) -> int:
    """Frames of an animated GIF, WebP or PNG; 1 for anything else. A multi-page TIFF or an MPO photo (a JPEG with
    a preview or depth picture inside, as phones write) is one picture, not a clip."""
    if image.format not in _ANIMATED_FORMATS:
        return 1
    return int(getattr(image, "n_frames", 1))


def _clip_from_animation(image: Image.Image, name: str, num_frames: int, max_side: int, limits: MediaLimits) -> Clip:
    budget = Budget(limits.decode_timeout_s, name)
    reservoir = Reservoir(4 * num_frames)
    elapsed = 0.0
    count = animation_length(image)
    try:
        for index in range(count):
            budget.check()
            image.seek(index)
            if reservoir.wants(index):
                reservoir.add(elapsed, downscale(image_to_rgb(image), max_side))
            delay_ms = float(image.info.get("duration", 0) or 0)
            elapsed += (delay_ms if delay_ms > _MIN_FRAME_DELAY_MS else _DEFAULT_FRAME_DELAY_MS) / 1000.0
            if elapsed > limits.max_clip_seconds:
                raise InputError(f"{name} plays for more than {limits.max_clip_seconds:g} s; that is the limit")
    except DECODE_ERRORS as exc:
        raise InputError(f"{name} is a damaged animation: {exc}") from exc
    times = [when for when, _ in reservoir.items]
    picks = select_evenly(times, num_frames, end=elapsed)
    frames = same_size([reservoir.items[index][1] for index in picks])
    fps = count / elapsed if elapsed > 0 else 0.0
    return Clip(np.stack(frames), np.asarray([times[i] for i in picks]), fps, elapsed, image.size)
