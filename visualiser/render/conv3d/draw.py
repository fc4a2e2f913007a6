"""How the animation looks: its colours on top of the shared palette, and small Pillow ImageDraw helpers
(dashed and emphasised outlines, a colorbar, number formatting).

Outputs use the palette's diverging map (``visualiser.render.colour``) on a range symmetric about 0, so that
white always means zero. Inputs may be normalised (negative values), so they are stretched back to [0, 1] per
channel for display only; the numbers on screen are never stretched. Text is drawn in the renderers' one face
(``visualiser.render.text``), in ASCII when it lacks the symbols.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import ImageDraw

from visualiser.render.colour import MUTED, TEXT, as_rgb, diverging_lut
from visualiser.render.conv3d.projection import Point
from visualiser.render.text import font_for, line_width, printable

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


RGB = tuple[int, int, int]


def dashed_line(draw: ImageDraw.ImageDraw, a: Point, b: Point, fill: RGB, dash: float = 4.0, width: int = 1) -> None:
    """A dashed segment from a to b (Pillow has no dash style)."""
    length = math.dist(a, b)
    if length == 0:
        return
    n = max(1, int(length // (2 * dash)))
    for i in range(n + 1):
        s0, s1 = (2 * i * dash) / length, min(1.0, (2 * i + 1) * dash / length)
        if s0 >= 1.0:
            break
        start = (a[0] + (b[0] - a[0]) * s0, a[1] + (b[1] - a[1]) * s0)
        end = (a[0] + (b[0] - a[0]) * s1, a[1] + (b[1] - a[1]) * s1)
        draw.line([start, end], fill=fill, width=width)


def dashed_polygon(draw: ImageDraw.ImageDraw, points: Sequence[Point], fill: RGB, dash: float = 4.0) -> None:
    """Closed dashed outline."""
    for i, a in enumerate(points):
        dashed_line(draw, a, points[(i + 1) % len(points)], fill, dash)


def emphasised_lines(
    draw: ImageDraw.ImageDraw, segments: Sequence[tuple[Point, Point]], colour: RGB, width: int
) -> None:
    """Lines in ``colour`` over a darker, wider copy, so they stand out on any background."""
    for a, b in segments:
        draw.line([a, b], fill=OUTLINE_RGB, width=width + 2)
    for a, b in segments:
        draw.line([a, b], fill=colour, width=width)


def emphasised_polygon(draw: ImageDraw.ImageDraw, points: Sequence[Point], colour: RGB, width: int) -> None:
    """Closed outline drawn like :func:`emphasised_lines`."""
    emphasised_lines(draw, [(a, points[(i + 1) % len(points)]) for i, a in enumerate(points)], colour, width)


def text(draw: ImageDraw.ImageDraw, xy: Point, value: str, size: int, fill: RGB = TEXT, anchor: str = "la") -> None:
    """Draw text in the renderers' face (any Pillow anchor), in ASCII if the face lacks the maths symbols."""
    draw.text(xy, printable(value), font=font_for(value, size), fill=fill, anchor=anchor)


def fit_text(value: str, size: int, max_width: float) -> int:
    """The largest font size ≤ size (down to 7) at which ``value`` fits in ``max_width`` px."""
    while size > 7 and line_width(value, size) > max_width:
        size -= 1
    return size


def colorbar(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], limit: float, size: int) -> None:
    """Horizontal colorbar of the diverging map with −limit, 0 and +limit written under it."""
    x0, y0, x1, y1 = box
    table = diverging_lut()
    for x in range(x0, x1):
        colour = table[round((x - x0) / max(x1 - x0 - 1, 1) * 255)]
        draw.line([(x, y0), (x, y1)], fill=as_rgb(colour))
    draw.rectangle(box, outline=MUTED)
    below = y1 + 2
    text(draw, (x0, below), number(-limit), size, MUTED, "la")
    text(draw, ((x0 + x1) / 2, below), "0", size, MUTED, "ma")
    text(draw, (x1, below), number(limit), size, MUTED, "ra")


NOISE = 1e-5  # below this share of the numbers it sits among, a float32 sum is rounding noise


def number(value: float, scale: float | None = None) -> str:
    """Three decimals for everyday magnitudes, 3 significant digits for huge or tiny ones; true minus sign.

    ``scale``: the size of the numbers ``value`` was summed from or is shown among; a value below float
    noise of that scale (``NOISE · scale``) is written as 0, not as e.g. −2.87e-07 (a sum that cancels).
    """
    if scale is not None and abs(value) < NOISE * abs(scale):
        value = 0.0
    magnitude = abs(value)
    body = f"{magnitude:.3f}" if magnitude == 0 or 1e-3 <= magnitude < 1e4 else f"{magnitude:.3g}"
    return ("−" if value < 0 and float(body) != 0 else "") + body


def signed_term(value: float, scale: float | None = None) -> str:
    """A sum term: negative values in parentheses, as in ``0.412 + (−0.133)`` (``scale`` as in ``number``)."""
    shown = number(value, scale)
    return f"({shown})" if shown.startswith("−") else shown
