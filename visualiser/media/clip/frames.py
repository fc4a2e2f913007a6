"""What a sampled clip is (``Clip``), and how its frames are sized: checked against the limits, fitted, stacked."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from visualiser.media.limits import MediaLimits, check_dimensions


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


def check_frame_size(width: int, height: int, limits: MediaLimits, what: str) -> None:
    """Refuse a frame larger, longer-sided or more elongated than a clip may be (before decoding it)."""
    check_dimensions(
        width,
        height,
        max_pixels=limits.max_clip_pixels_per_frame,
        max_side=limits.max_image_side,
        max_aspect=limits.max_aspect,
        what=what,
    )


def fitted_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(W, H) scaled down (never up) so the long side is at most ``max_side``, keeping the aspect ratio."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def downscale(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """An (H, W, 3) frame with its long side at most ``max_side``; contiguous, a copy only when resized."""
    height, width = pixels.shape[:2]
    size = fitted_size(width, height, max_side)
    if size == (width, height):
        return np.ascontiguousarray(pixels)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))


def same_size(frames: list[np.ndarray]) -> list[np.ndarray]:
    """A stream that changes resolution mid-way still stacks: later frames are resized to the first one's size."""
    height, width = frames[0].shape[:2]
    return [
        pixels if pixels.shape[:2] == (height, width) else np.asarray(Image.fromarray(pixels).resize((width, height)))
        for pixels in frames
    ]
