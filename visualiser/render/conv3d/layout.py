"""Where things go on the frame, as boxes scaled from a 640×360 design.

Kept apart from drawing so the two modes' layouts can be read (and changed) at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass

from visualiser.errors import VisualiserError

Box = tuple[float, float, float, float]
MIN_SIZE = (480, 270)  # below this the text no longer fits
DESIGN = (640.0, 360.0)


@dataclass(frozen=True)
class PanelLayout:
    """Boxes of one convolution side (all in pixels)."""

    left: float  # x where the panel starts
    width: float
    header_y: float
    input_box: Box
    output_box: Box
    colorbar_box: Box
    cube_boxes: tuple[Box, ...]  # per-channel cubes; empty in the compare mode
    text_x: float
    text_y: tuple[float, ...]  # baselines of the text lines under the drawing
    font: int  # body font size
    small_font: int


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate (width, height)."""
    width, height = (int(v) for v in size)
    if width < MIN_SIZE[0] or height < MIN_SIZE[1]:
        raise VisualiserError(f"The animation needs at least {MIN_SIZE[0]}×{MIN_SIZE[1]} px; got {width}×{height}.")
    return width, height


def _scaler(size: tuple[int, int]) -> tuple[float, float, float]:
    width, height = size
    sx, sy = width / DESIGN[0], height / DESIGN[1]
    return sx, sy, min(sx, sy)


def layout_3d(size: tuple[int, int], channels: int) -> PanelLayout:
    """Full-width layout: input deck, per-channel cubes, output deck, text block under them."""
    sx, sy, s = _scaler(size)
    shown = min(channels, 3)
    top, bottom = 40 * sy, 232 * sy
    cube_h = (bottom - top) / 3
    cubes = tuple(
        (276 * sx, top + i * cube_h + 3 * sy, 334 * sx, top + (i + 1) * cube_h - 3 * sy) for i in range(shown)
    )
    return PanelLayout(
        left=0.0,
        width=float(size[0]),
        header_y=5 * sy,
        input_box=(10 * sx, 26 * sy, 262 * sx, 236 * sy),
        output_box=(422 * sx, 30 * sy, 630 * sx, 214 * sy),
        colorbar_box=(450 * sx, 222 * sy, 610 * sx, 230 * sy),
        cube_boxes=cubes,
        text_x=10 * sx,
        text_y=tuple(v * sy for v in (256, 276, 292, 308, 324, 340)),
        font=max(8, round(11 * s)),
        small_font=max(7, round(9 * s)),
    )


def layout_compare(size: tuple[int, int], right: bool) -> PanelLayout:
    """Half-width layout for one side of the 2D-vs-3D comparison."""
    sx, sy, s = _scaler(size)
    half = size[0] / 2
    left = half if right else 0.0
    return PanelLayout(
        left=left,
        width=half,
        header_y=5 * sy,
        input_box=(left + 6 * sx, 28 * sy, left + 176 * sx, 222 * sy),
        output_box=(left + 182 * sx, 40 * sy, left + half - 8 * sx, 196 * sy),
        colorbar_box=(left + 196 * sx, 206 * sy, left + half - 20 * sx, 213 * sy),
        cube_boxes=(),
        text_x=left + 8 * sx,
        text_y=tuple(v * sy for v in (240, 258, 276, 294, 312, 330)),
        font=max(8, round(10 * s)),
        small_font=max(7, round(8 * s)),
    )
