"""Test clips: small files in any codec, written with the project's one encoder at near-lossless quality."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from visualiser.media import write_video


def write_test_clip(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    fps: float = 8.0,
    codec: str = "libx264",
    *,
    times: Sequence[float] | None = None,
    rotation: int = 0,
    gop: int | None = None,
) -> Path:
    """(T, H, W, 3) uint8 frames (T may be 0) to a file; crf 12 keeps decoded pixels close to the drawn ones."""
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if times is not None and len(times) != len(frames):
        raise ValueError("times must give one strictly increasing time per frame")
    size = (frames.shape[2], frames.shape[1])
    return write_video(path, frames, fps, codec, crf=12, times=times, rotation=rotation, gop=gop, size=size)
