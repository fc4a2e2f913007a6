"""The animation's own colours on top of the shared palette (``visualiser.render.colour``).

Outputs use the palette's diverging map on a range symmetric about 0, so that white always means
zero. Inputs may be normalised (negative values), so they are stretched back to [0, 1] per channel
for display only; the numbers on screen are never stretched.
"""

from __future__ import annotations

import numpy as np

KERNEL_RGB = (255, 200, 0)  # amber box with a dark outline: visible on photos and on red/blue cells
OUTLINE_RGB = (20, 20, 20)
EMPTY_RGB = (236, 236, 236)  # padding cells
CHANNEL_TINTS = ((1.0, 0.15, 0.15), (0.1, 0.75, 0.1), (0.2, 0.35, 1.0))  # R, G, B "C cubes"


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
