"""Where a gate's cells land on a picture: bilinear taps, and a gate mapped through the crop geometry.

A spatial gate is an (h, w) grid over the model's *crop*, not over the uploaded image. Its cells
tile the crop box exactly; pixel centres sit at ``k + 0.5`` and cell centres at the middle of their
tile (half-pixel convention, edges clamped: torch's and Pillow's ``align_corners=False``).
"""

from __future__ import annotations

import math

import numpy as np

from visualiser.result import CropGeometry

Box = tuple[float, float, float, float]


def bilinear_taps(n_out: int, start: float, stop: float, n_src: int) -> tuple[np.ndarray, ...]:
    """Source indices and weights for ``n_out`` output pixels from ``n_src`` cells spanning [start, stop).

    Output pixel ``k`` has its centre at ``k + 0.5``; source cell ``j`` has its centre at
    ``start + (j + 0.5) · (stop − start) / n_src``. Returns ``(i0, i1, frac, inside)``: output k is
    ``(1 − frac)·src[i0] + frac·src[i1]``, and ``inside`` says whether its centre lies in [start, stop).
    """
    centres = np.arange(n_out, dtype=np.float64) + 0.5
    inside = (centres >= start) & (centres < stop)
    u = (centres - start) / max(stop - start, 1e-12) * n_src - 0.5
    u = np.clip(u, 0.0, n_src - 1)
    i0 = np.floor(u).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, (u - i0).astype(np.float32), inside


def map_onto_canvas(
    grid: np.ndarray,
    box: Box,
    canvas_size: tuple[int, int],
    rows: tuple[int, int] | None = None,
    columns: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bilinearly upsample a ``(h, w)`` grid that covers ``box`` (l, t, r, b) of a ``(W, H)`` canvas.

    Returns the ``(H, W)`` float32 values and a boolean mask of the pixels inside the box; values
    outside the box are edge-clamped and should be ignored (the mask says where the map is real).
    ``rows`` / ``columns`` = (first, last) restrict the output to that window of the canvas.
    Separable gathers, not matrix products: small BLAS calls cost more in thread start-up than work.
    """
    width, height = canvas_size
    left, top, right, bottom = box
    src = np.asarray(grid, dtype=np.float32)
    r0, r1 = rows or (0, height)
    c0, c1 = columns or (0, width)
    y0, y1, fy, inside_y = (a[r0:r1] for a in bilinear_taps(height, top, bottom, src.shape[0]))
    x0, x1, fx, inside_x = (a[c0:c1] for a in bilinear_taps(width, left, right, src.shape[1]))
    lines = src[y0] * (1.0 - fy)[:, None] + src[y1] * fy[:, None]  # (H, w)
    values = lines[:, x0] * (1.0 - fx) + lines[:, x1] * fx  # (H, W)
    return values, inside_y[:, None] & inside_x[None, :]


def scaled_box(box: Box, scale_x: float, scale_y: float) -> Box:
    """A box in original pixels expressed in a resized canvas's pixels."""
    return (box[0] * scale_x, box[1] * scale_y, box[2] * scale_x, box[3] * scale_y)


def crop_box_on(geometry: CropGeometry, canvas_size: tuple[int, int]) -> Box:
    """The model's crop in the pixels of a ``(W, H)`` canvas showing the whole original image."""
    width, height = canvas_size
    original_w, original_h = geometry.original_size
    return scaled_box(geometry.crop_in_original(), width / original_w, height / original_h)


def pixel_span(start: float, stop: float, limit: int) -> tuple[int, int]:
    """Pixels ``[first, last)`` whose centres ``k + 0.5`` lie in [start, stop), clipped to 0..limit."""
    first = min(max(math.ceil(start - 0.5), 0), limit)
    last = min(max(math.ceil(stop - 0.5), first), limit)
    return first, last
