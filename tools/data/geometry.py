"""Shape outlines and their rasterisation into soft (anti-aliased) alpha masks.

Both procedural datasets draw the same eight shapes, so the geometry lives here once. Shapes
are defined on the unit circle (radius 1, pointing up) and placed by centre, radius and angle;
drawing happens at ``SUPERSAMPLE`` times the output size and is box-filtered down, which gives
smooth edges without any other library than Pillow.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross", "ring", "hexagon", "arrow")
Style = Literal["filled", "outline"]
SUPERSAMPLE = 4
RING_INNER = (0.5, 0.62)  # inner / outer radius of a ring: always much thicker than an outline stroke


def _regular(n: int, phase: float = 0.0) -> np.ndarray:
    t = phase + np.arange(n) * 2 * math.pi / n
    return np.stack([np.sin(t), -np.cos(t)], axis=1)  # (n, 2), first vertex straight up


def _star(points: int = 5, inner: float = 0.45) -> np.ndarray:
    t = np.arange(2 * points) * math.pi / points
    r = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    return np.stack([r * np.sin(t), -r * np.cos(t)], axis=1)


def _cross(arm: float = 0.34) -> np.ndarray:
    a, b = arm, 1.0
    return np.array(
        [
            (-a, -b),
            (a, -b),
            (a, -a),
            (b, -a),
            (b, a),
            (a, a),
            (a, b),
            (-a, b),
            (-a, a),
            (-b, a),
            (-b, -a),
            (-a, -a),
        ]
    )


def _arrow() -> np.ndarray:
    # Points up: a triangular head on a shaft.
    return np.array([(0.0, -1.0), (0.75, -0.15), (0.3, -0.15), (0.3, 1.0), (-0.3, 1.0), (-0.3, -0.15), (-0.75, -0.15)])


def _centred(poly: np.ndarray) -> np.ndarray:
    """Shift a polygon so its area centroid is the origin: shapes turn about their centre of mass."""
    x, y = poly[:, 0], poly[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    centroid = np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()]) / (6 * area)
    return poly - centroid


_UNIT_POLYGONS: dict[str, np.ndarray] = {
    "square": _regular(4, math.pi / 4) * 0.92,
    "triangle": _regular(3),
    "star": _star(),
    "cross": _cross() * 0.95,
    "hexagon": _regular(6, math.pi / 6) * 0.95,
    "arrow": _centred(_arrow()),
}


def shape_polygon(kind: str, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    """Vertices (N, 2) of a polygonal shape in pixel coordinates; ``angle`` in radians, clockwise."""
    unit = _UNIT_POLYGONS[kind]
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return unit @ rot.T * radius + np.array([cx, cy])


def shape_alpha(
    kind: str,
    size: int | tuple[int, int],
    cx: float,
    cy: float,
    radius: float,
    angle: float = 0.0,
    style: Style = "filled",
    stroke: float = 0.18,
    ring_inner: float = 0.56,
) -> np.ndarray:
    """Anti-aliased coverage (H, W) float32 in [0, 1] of one shape.

    ``stroke`` is the outline width as a fraction of ``radius`` (outline style only). A circle is
    always filled and a ring is always an annulus of inner radius ``ring_inner * radius``, so
    neither can be mistaken for the other's outline.
    """
    if kind not in SHAPES:
        raise ValueError(f"unknown shape {kind!r}; expected one of {SHAPES}")
    w, h = (size, size) if isinstance(size, int) else size
    k = SUPERSAMPLE
    # Draw only the window around the shape, at k× resolution, then box-filter it down.
    reach = radius * 1.1 + 2
    left, top = max(0, math.floor(cx - reach)), max(0, math.floor(cy - reach))
    right, bottom = min(w, math.ceil(cx + reach)), min(h, math.ceil(cy + reach))
    alpha = np.zeros((h, w), dtype=np.float32)
    if right <= left or bottom <= top:
        return alpha
    canvas = Image.new("L", ((right - left) * k, (bottom - top) * k), 0)
    draw = ImageDraw.Draw(canvas)
    # Continuous coordinates (pixel i spans [i, i+1)) to Pillow's, where integers are pixel centres.
    x, y, r = (cx - left) * k - 0.5, (cy - top) * k - 0.5, radius * k
    if kind in ("circle", "ring"):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
        if kind == "ring":
            ri = r * ring_inner
            draw.ellipse((x - ri, y - ri, x + ri, y + ri), fill=0)
    else:
        poly = [tuple(p) for p in shape_polygon(kind, x, y, r, angle)]
        if style == "filled":
            draw.polygon(poly, fill=255)
        else:
            width = max(2, round(stroke * r))
            draw.line([*poly, poly[0], poly[1]], fill=255, width=width, joint="curve")
    small = canvas.reduce(k) if k > 1 else canvas
    alpha[top:bottom, left:right] = np.asarray(small, dtype=np.float32) / 255.0
    return alpha


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Tight box (x0, y0, x1, y1) around a boolean mask, exclusive of x1/y1; (0, 0, 0, 0) if empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return (0, 0, 0, 0)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
