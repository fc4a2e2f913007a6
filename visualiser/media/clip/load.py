"""``load_clip``: any clip source (video file, image file, (T, H, W, 3) array) to evenly sampled, downscaled
frames. An array is checked like a decoded frame and sampled evenly; its timestamps are indices."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from visualiser.errors import InputError
from visualiser.media.clip.frames import Clip, check_frame_size, downscale, select_evenly
from visualiser.media.clip.images import clip_from_image_file
from visualiser.media.clip.video import clip_from_video, is_video_container
from visualiser.media.limits import DEFAULT_LIMITS, MediaLimits, check_file


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
        return clip_from_array(source, num_frames, max_side, limits)
    if not isinstance(source, str | os.PathLike):
        raise InputError(f"cannot read a clip from a {type(source).__name__}")
    path = check_file(source, limits)
    if not starts_like_video(path):
        image_clip = clip_from_image_file(path, num_frames, max_side, limits)
        if image_clip is not None:
            return image_clip
    return clip_from_video(path, num_frames, max_side, limits)


def starts_like_video(path: Path) -> bool:
    """Whether the file is a video container by its first bytes (PyAV reads it; Pillow never sees it)."""
    with path.open("rb") as handle:
        return is_video_container(handle.read(512))


def clip_from_array(array: np.ndarray, num_frames: int, max_side: int, limits: MediaLimits) -> Clip:
    """``num_frames`` evenly spaced frames of ``array``, downscaled; an array has no frame rate, so fps is 0."""
    if array.ndim != 4 or array.shape[3] != 3 or array.dtype != np.uint8:
        raise InputError(f"a clip array must be (T, H, W, 3) uint8; got {array.shape} {array.dtype}")
    if array.shape[0] == 0:
        raise InputError("the clip array has no frames")
    height, width = array.shape[1:3]
    check_frame_size(width, height, limits, "clip")
    picks = select_evenly(range(array.shape[0]), num_frames)
    frames = [downscale(array[index], max_side) for index in picks]
    return Clip(np.stack(frames), np.asarray(picks, dtype=np.float64), 0.0, 0.0, (width, height))
