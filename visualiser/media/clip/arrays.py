"""A (T, H, W, 3) uint8 array as a clip: checked like a decoded frame, sampled evenly, timestamps are indices."""

from __future__ import annotations

import numpy as np

from visualiser.errors import InputError
from visualiser.media.clip.frames import Clip, check_frame_size, downscale
from visualiser.media.clip.sampling import select_evenly
from visualiser.media.limits import MediaLimits


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
