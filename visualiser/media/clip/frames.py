"""What a sampled clip is (``Clip``), how its frames are sized, and which frames are kept.

Sizing: checked against the limits before decoding, fitted under ``max_side``, stacked at one size.
Sampling: evenly spaced picks, a bounded reservoir for streams of unknown length, a decode-time budget.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from visualiser.errors import InputError
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


class Reservoir:
    """An evenly spaced subset of a stream of unknown length in bounded memory.

    Keeps every ``stride``-th item; when full, drops every other one and doubles the stride.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 2)
        self.stride = 1
        self.items: list[tuple[float, np.ndarray]] = []

    def wants(self, index: int) -> bool:
        """Whether the ``index``-th item of the stream would be kept (so only those are converted)."""
        return index % self.stride == 0

    def add(self, when: float, pixels: np.ndarray) -> None:
        """Keep a frame shown at ``when`` seconds, thinning the reservoir when it overflows."""
        self.items.append((when, pixels))
        if len(self.items) > self.capacity:
            self.items = self.items[::2]
            self.stride *= 2


class Budget:
    """Wall-clock guard checked between frames: a pathological file fails instead of tying up a worker."""

    def __init__(self, seconds: float, name: str) -> None:
        self.seconds, self.name = seconds, name
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        """Raise ``InputError`` once the budget is spent."""
        if time.monotonic() > self.deadline:
            raise InputError(
                f"decoding {self.name} took longer than {self.seconds:g} s; try a shorter or lower-resolution clip"
            )


def minutes(seconds: float) -> str:
    """A length as a person reads it in a message: seconds below two minutes, else minutes."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
