"""The pointing game with object masks: does a spatial gate's maximum fall on the object?

A mask (True = object) is first carried into the model's input frame: an input pixel shows the object when its
footprint in the original image overlaps an object pixel (the crop geometry says where each input pixel came
from). A cell of an h×w gate over that S×S input is an object cell when any input pixel overlapping it shows the
object, and a hit is a maximum (the first, as ``np.argmax`` picks) on an object cell. For a filled box this is
exactly the rule of the embedded models' cards (``tools.training.metrics.box_on_grid``): the cells a box touches.
Clips: the gate's (T', h, w) maximum at time t is scored on frame ``min(T−1, ⌊(t + ½)·T / T'⌋)``.
"""

from __future__ import annotations

import math

import numpy as np

from visualiser.result import CropGeometry


def _spans(start: float, step: float, n: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel index ranges [lo, hi) overlapping the ``n`` intervals [start + i·step, start + (i+1)·step)."""
    edges = start + step * np.arange(n + 1, dtype=np.float64)
    lo = np.clip(np.floor(edges[:-1]).astype(np.int64), 0, limit)
    hi = np.clip(np.ceil(edges[1:]).astype(np.int64), 0, limit)
    return lo, np.maximum(hi, np.minimum(lo + 1, limit))


def _any_in(mask: np.ndarray, rows: tuple[np.ndarray, np.ndarray], cols: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(len(rows), len(cols)) bool: does ``mask`` hold a True in each [row span) × [col span)?"""
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    table[1:, 1:] = mask.astype(np.int64).cumsum(0).cumsum(1)
    (r0, r1), (c0, c1) = rows, cols
    total = table[r1][:, c1] - table[r0][:, c1] - table[r1][:, c0] + table[r0][:, c0]
    return total > 0


def mask_in_input(mask: np.ndarray, geometry: CropGeometry, size: int) -> np.ndarray:
    """(size, size) bool: which input pixels show the object of an original-image ``mask`` (H, W)."""
    width, height = geometry.original_size
    if mask.shape != (height, width):
        raise ValueError(f"the mask is {mask.shape[1]}×{mask.shape[0]} but the image is {width}×{height}")
    sx = width / geometry.resized_size[0]
    sy = height / geometry.resized_size[1]
    left, top, right, bottom = geometry.crop_box
    if (right - left, bottom - top) != (size, size):
        raise ValueError(f"the crop is {right - left}×{bottom - top}, not the model's {size}×{size}")
    rows = _spans(top * sy, sy, size, height)
    cols = _spans(left * sx, sx, size, width)
    return _any_in(mask, rows, cols)


def box_mask(box: tuple[int, int, int, int] | np.ndarray, size: int) -> np.ndarray:
    """(size, size) bool: the filled pixel box (x0, y0, x1, y1), ends exclusive, in input pixels."""
    x0, y0, x1, y1 = (int(v) for v in box)
    out = np.zeros((size, size), bool)
    out[max(0, y0) : min(size, max(y1, y0 + 1)), max(0, x0) : min(size, max(x1, x0 + 1))] = True
    return out


def object_cells(target: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(h, w) bool: the cells of an h×w grid over an input-frame mask (S, S) that overlap the object."""
    height, width = target.shape
    h, w = grid
    rows = _spans(0.0, height / h, h, height)
    cols = _spans(0.0, width / w, w, width)
    return _any_in(target, rows, cols)


def pointing_hits(maps: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(n,) bool hits of gates ``maps`` (n, h, w) or (n, T', h, w) against input-frame masks ``targets``.

    ``targets`` is (n, S, S) for images and (n, T, S, S) for clips (one mask per input frame).
    """
    maps = np.asarray(maps)
    if maps.ndim not in (3, 4) or targets.ndim != maps.ndim or maps.shape[0] != targets.shape[0]:
        raise ValueError(f"maps {maps.shape} and targets {targets.shape} do not pair up")
    hits = np.zeros(maps.shape[0], bool)
    for k, (m, target) in enumerate(zip(maps, targets, strict=True)):
        where = np.unravel_index(int(np.argmax(m)), m.shape)
        if m.ndim == 3:
            frames = target.shape[0]
            frame = min(frames - 1, math.floor((where[0] + 0.5) * frames / m.shape[0]))
            target, where = target[frame], where[1:]
        hits[k] = _cell_on_object(target, m.shape[-2:], where)
    return hits


def _cell_on_object(target: np.ndarray, grid: tuple[int, ...], cell: tuple[int, ...]) -> bool:
    """``object_cells(target, grid)[cell]``, reading only that cell's pixels."""
    (height, width), (h, w), (i, j) = target.shape, grid, cell
    r0, r1 = _spans(0.0, height / h, h, height)
    c0, c1 = _spans(0.0, width / w, w, width)
    return bool(target[r0[i] : r1[i], c0[j] : c1[j]].any())
