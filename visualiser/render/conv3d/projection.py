"""Oblique projection of a T×H×W cell volume as a deck of slices, and rasterising its textures.

A cell corner (t, h, w) lands on screen at ``origin + w·ex + h·ey + t·et``. Each time slice is a
parallelogram spanned by ``ex`` (width, slightly rising) and ``ey`` (height, slightly leaning),
and successive slices step along ``et`` towards the viewer (down-left), so t = 0 is at the back
and the newest frame is in front. Textures are mapped by inverting the 2×2 slice basis per pixel
with numpy: no per-cell polygon calls, so a whole deck is drawn in a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]
PixelBox = tuple[int, int, int, int]
Quad = tuple[Point, Point, Point, Point]

SLICE_EX = np.array([1.0, -0.18])  # width axis, per cell (before scaling)
SLICE_EY = np.array([0.28, 0.82])  # height axis, per cell
DEPTH_DIR = np.array([-0.62, 0.78])  # towards the viewer


@dataclass(frozen=True)
class DeckShape:
    """Proportions shared by every deck of one animation, in cell units.

    Attributes:
        gap: distance between consecutive slices, in cells along ``DEPTH_DIR``.
    """

    gap: float

    @staticmethod
    def for_grid(t: int, h: int, w: int) -> DeckShape:
        """Spread T slices over at most ~0.9 of a slice's size, but at least a few cells apart when T is small."""
        size = max(h, w)
        return DeckShape(gap=min(0.3 * size, 0.9 * size / max(t - 1, 1)))

    def extent(self, dims: tuple[int, int, int]) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) of a deck of ``dims`` with cell size 1 and origin (0, 0)."""
        t, h, w = dims
        et = DEPTH_DIR * self.gap
        corners = np.array(
            [tt * et + hh * SLICE_EY + ww * SLICE_EX for tt in (0, t - 1) for hh in (0, h) for ww in (0, w)]
        )  # (8, 2)
        low, high = corners.min(axis=0), corners.max(axis=0)
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])


@dataclass(frozen=True)
class Deck:
    """One projected volume: its cell size in pixels, screen origin and dims (T, H, W)."""

    dims: tuple[int, int, int]
    cell: float
    origin: Point
    shape: DeckShape

    @staticmethod
    def fit(
        dims: tuple[int, int, int], shape: DeckShape, box: tuple[float, float, float, float], cell: float | None = None
    ) -> Deck:
        """Place a deck centred in ``box`` (x0, y0, x1, y1), with the largest cell size that fits unless given."""
        x_min, y_min, x_max, y_max = shape.extent(dims)
        bx0, by0, bx1, by1 = box
        fit_cell = min((bx1 - bx0) / (x_max - x_min), (by1 - by0) / (y_max - y_min))
        size = fit_cell if cell is None else min(cell, fit_cell)
        ox = (bx0 + bx1) / 2 - size * (x_min + x_max) / 2
        oy = (by0 + by1) / 2 - size * (y_min + y_max) / 2
        return Deck(dims=dims, cell=size, origin=(ox, oy), shape=shape)

    @property
    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ex, ey, et) in pixels."""
        return SLICE_EX * self.cell, SLICE_EY * self.cell, DEPTH_DIR * self.shape.gap * self.cell

    def point(self, t: float, h: float, w: float) -> Point:
        """Screen position of cell corner (t, h, w)."""
        ex, ey, et = self.basis
        p = np.asarray(self.origin) + w * ex + h * ey + t * et
        return float(p[0]), float(p[1])

    def quad(self, t: float, h0: float, w0: float, h1: float, w1: float) -> Quad:
        """Corners of the rectangle [h0, h1] × [w0, w1] on slice t, in drawing order."""
        return (self.point(t, h0, w0), self.point(t, h0, w1), self.point(t, h1, w1), self.point(t, h1, w0))

    def box_edges(self, t0: float, t1: float, h0: float, h1: float, w0: float, w1: float) -> list[tuple[Point, Point]]:
        """The 12 edges of a box whose front and back faces lie on slices t0 and t1."""
        back, front = self.quad(t0, h0, w0, h1, w1), self.quad(t1, h0, w0, h1, w1)
        edges = [(back[i], back[(i + 1) % 4]) for i in range(4)] + [(front[i], front[(i + 1) % 4]) for i in range(4)]
        return edges + [(back[i], front[i]) for i in range(4)]

    def bbox(self) -> PixelBox:
        """Integer pixel box (x0, y0, x1, y1) covering the whole deck, exclusive end."""
        t, h, w = self.dims
        return _enclosing([self.point(tt, hh, ww) for tt in (0, t - 1) for hh in (0, h) for ww in (0, w)])

    def cell_coords(self, t: float, box: PixelBox) -> tuple[np.ndarray, np.ndarray]:
        """Fractional (h, w) cell coordinates of every pixel centre of ``box`` on slice t."""
        ex, ey, et = self.basis
        x0, y0, x1, y1 = box
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64) + 0.5
        dx = xs - self.origin[0] - t * et[0]
        dy = ys - self.origin[1] - t * et[1]
        inv = np.linalg.inv(np.column_stack([ex, ey]))  # pixel offset -> (w, h)
        w = inv[0, 0] * dx + inv[0, 1] * dy
        h = inv[1, 0] * dx + inv[1, 1] * dy
        return h, w


def _enclosing(points: list[Point]) -> PixelBox:
    """Smallest integer pixel box (exclusive end) holding the points."""
    xs, ys = zip(*points, strict=True)
    return int(np.floor(min(xs))), int(np.floor(min(ys))), int(np.ceil(max(xs))) + 1, int(np.ceil(max(ys))) + 1


def clip_box(box: PixelBox, size: tuple[int, int]) -> PixelBox:
    """Keep a pixel box inside a ``(width, height)`` frame."""
    x0, y0, x1, y1 = box
    return max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1)


def rasterise_slice(
    deck: Deck,
    t: float,
    colours: np.ndarray,
    offset: tuple[int, int],
    frame_size: tuple[int, int],
    border: float = 0.78,
) -> tuple[PixelBox, np.ndarray, np.ndarray, np.ndarray]:
    """Texture-map an ``(h, w, 3)`` uint8 cell picture onto slice t, its cell (0, 0) at deck cell ``offset``.

    Returns (box, mask, rgb, flat_index): the pixel box the picture's parallelogram spans (inside
    the frame), which of its pixels the picture covers, their colour (cell edges darkened by
    ``border`` so cells read as cells) and the raster index of the cell under each pixel (−1 outside).
    """
    n_h, n_w = colours.shape[:2]
    box = clip_box(_enclosing(list(deck.quad(t, offset[0], offset[1], offset[0] + n_h, offset[1] + n_w))), frame_size)
    h, w = deck.cell_coords(t, box)
    h = h - offset[0]
    w = w - offset[1]
    inside = (h >= 0) & (h < n_h) & (w >= 0) & (w < n_w)
    hi = np.clip(np.floor(h).astype(np.int64), 0, n_h - 1)
    wi = np.clip(np.floor(w).astype(np.int64), 0, n_w - 1)
    rgb = colours[hi, wi].astype(np.float32)
    # about one pixel of each cell edge, measured along each axis of the slice
    edge_w = 0.9 / max(deck.cell * float(np.hypot(*SLICE_EX)), 1e-6)
    edge_h = 0.9 / max(deck.cell * float(np.hypot(*SLICE_EY)), 1e-6)
    near_h = np.minimum(h - np.floor(h), np.ceil(h) - h) < edge_h
    on_edge = near_h | (np.minimum(w - np.floor(w), np.ceil(w) - w) < edge_w)
    if deck.cell >= 4:
        rgb[on_edge] *= border
    flat = np.where(inside, hi * n_w + wi, -1)
    return box, inside, rgb.astype(np.uint8), flat
