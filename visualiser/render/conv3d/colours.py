"""Colour for the animation: a diverging, colour-blind-safe map for outputs and display RGB for inputs.

Outputs use ColorBrewer RdBu (reversed: negative blue, positive red), which stays
distinguishable under the common colour-vision deficiencies, on a range symmetric about 0 so
that white always means zero. Inputs may be normalised (negative values), so they are stretched
back to [0, 1] per channel for display only; the numbers on screen are never stretched.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

KERNEL_RGB = (255, 200, 0)  # amber box with a dark outline: visible on photos and on red/blue cells
OUTLINE_RGB = (20, 20, 20)
EMPTY_RGB = (236, 236, 236)  # padding cells
PANEL_RGB = (255, 255, 255)
TEXT_RGB = (25, 25, 25)
MUTED_RGB = (120, 120, 120)
CHANNEL_TINTS = ((1.0, 0.15, 0.15), (0.1, 0.75, 0.1), (0.2, 0.35, 1.0))  # R, G, B "C cubes"


# ColorBrewer RdBu, 11 classes, from negative (dark blue) to positive (dark red); interpolated to 256 entries.
# Written out rather than taken from matplotlib because importing matplotlib costs ~0.2 s per cold render.
_RDBU_R = ("053061", "2166ac", "4393c3", "92c5de", "d1e5f0", "f7f7f7", "fddbc7", "f4a582", "d6604d", "b2182b", "67001f")


@lru_cache(maxsize=1)
def diverging_lut() -> np.ndarray:
    """``(256, 3)`` uint8 lookup table of RdBu reversed (blue = negative, white = 0, red = positive)."""
    anchors = np.array([[int(code[i : i + 2], 16) for i in (0, 2, 4)] for code in _RDBU_R], np.float64)  # (11, 3)
    positions = np.linspace(0.0, 1.0, len(anchors))
    samples = np.linspace(0.0, 1.0, 256)
    channels = [np.interp(samples, positions, anchors[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=1)).astype(np.uint8)


def symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the arrays, or 1 when they are all zero (so nothing divides by zero)."""
    limit = max(float(np.max(np.abs(a))) for a in arrays)
    return limit if limit > 0 else 1.0


def map_values(values: np.ndarray, limit: float) -> np.ndarray:
    """Values in [−limit, limit] to RGB uint8, shape ``values.shape + (3,)``."""
    scaled = np.clip((np.asarray(values, np.float64) / limit + 1.0) * 0.5, 0.0, 1.0)
    return diverging_lut()[np.round(scaled * 255).astype(np.int64)]


def display_channels(grid: np.ndarray) -> np.ndarray:
    """``(C, T, H, W)`` grid stretched to [0, 1] per channel, for drawing only."""
    low = grid.min(axis=(1, 2, 3), keepdims=True)
    span = grid.max(axis=(1, 2, 3), keepdims=True) - low
    return (grid - low) / np.where(span > 0, span, 1.0)


def display_rgb(grid: np.ndarray) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 picture of the grid: RGB for three channels, grey (channel mean) otherwise."""
    channels = display_channels(grid)
    rgb = np.moveaxis(channels, 0, -1) if grid.shape[0] == 3 else np.repeat(channels.mean(axis=0)[..., None], 3, -1)
    return np.round(rgb * 255).astype(np.uint8)


def tinted_channel(grid: np.ndarray, channel: int) -> np.ndarray:
    """``(T, H, W, 3)`` uint8: one channel's intensity as a dark-to-tint ramp (the seed's per-channel cube)."""
    values = display_channels(grid)[channel][..., None]  # (T, H, W, 1)
    tint = np.asarray(CHANNEL_TINTS[channel] if grid.shape[0] == 3 else (0.6, 0.6, 0.6))
    return np.round((0.08 + 0.92 * values * tint) * 255).astype(np.uint8)
