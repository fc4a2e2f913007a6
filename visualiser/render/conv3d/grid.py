"""Turn a clip into the coarse T×H×W cell grid the animation slides over.

A 3×3×3 kernel on a 224×224 clip would need ~400k animation steps; on an 8×16×16 grid it needs
a few hundred, and every cell is big enough to see. The grid keeps the clip's real content:
frames are sampled evenly in time and each cell is the exact area average of the pixels it covers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visualiser.errors import InputError, VisualiserError

MAX_GRID = (32, 64, 64)  # beyond this the cells get too small to draw at 640×360


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights averaging each output cell's share of the input, fractional edges included."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    starts, ends = edges[:-1, None], edges[1:, None]
    pixels = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0.0, None)  # (n_out, n_in)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def prepare_grid(
    frames: np.ndarray,
    cells: Sequence[int] = (8, 16, 16),
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> np.ndarray:
    """Downsample a ``(T, H, W, 3)`` uint8 clip to a ``(3, T', H', W')`` float32 grid.

    Time: ``T' = min(T, cells[0])`` frames picked evenly (first and last included); a clip is
    never stretched in time. Space: area averaging to ``cells[1] × cells[2]`` (the aspect ratio
    is not kept: cells are a teaching grid, not a picture). Values are scaled to [0, 1]; when
    ``mean`` and ``std`` are given (per RGB channel, on that [0, 1] scale) the grid is normalised
    as ``(x − mean) / std``, which is what a pretrained layer's weights expect to see.
    """
    clip = np.asarray(frames)
    if clip.ndim == 3 and clip.shape[-1] == 3:
        clip = clip[None]  # a single image is a one-frame clip
    if clip.ndim != 4 or clip.shape[-1] != 3 or 0 in clip.shape:
        raise InputError(f"Expected a clip of shape (T, H, W, 3); got {clip.shape}.")
    if clip.dtype != np.uint8:
        raise InputError(f"Expected uint8 frames (0–255); got {clip.dtype}.")
    t_cells, h_cells, w_cells = _cells(cells)
    n_frames, height, width = clip.shape[:3]
    if h_cells > height or w_cells > width:
        raise InputError(f"The clip ({height}×{width} px) is smaller than the requested {h_cells}×{w_cells} cell grid.")
    picks = np.round(np.linspace(0, n_frames - 1, min(n_frames, t_cells))).astype(int)
    rows, cols = area_matrix(height, h_cells), area_matrix(width, w_cells)
    grid = np.empty((3, len(picks), h_cells, w_cells), np.float32)  # (C, T', H', W')
    for slot, frame_index in enumerate(picks):
        frame = clip[frame_index].astype(np.float32) / 255.0  # (H, W, 3)
        pooled = np.einsum("ih,hwc,jw->cij", rows, frame, cols, optimize=True)  # (3, H', W')
        grid[:, slot] = pooled
    if (mean is None) != (std is None):
        raise VisualiserError("Give both mean and std to normalise the grid, or neither.")
    if mean is not None and std is not None:
        mean_arr = np.asarray(mean, np.float32).reshape(3, 1, 1, 1)
        std_arr = np.asarray(std, np.float32).reshape(3, 1, 1, 1)
        if np.any(std_arr <= 0):
            raise VisualiserError(f"Every std value must be positive; got {list(np.ravel(std_arr))}.")
        grid = (grid - mean_arr) / std_arr
    return grid.astype(np.float32)


def _cells(cells: Sequence[int]) -> tuple[int, int, int]:
    """Validate the requested grid size against what can be drawn legibly."""
    dims = tuple(int(v) for v in cells)
    if len(dims) != 3 or min(dims) < 1:
        raise VisualiserError(f"cells must be three positive integers (T, H, W); got {tuple(cells)}.")
    if any(d > limit for d, limit in zip(dims, MAX_GRID, strict=True)):
        raise VisualiserError(f"A {dims} cell grid is too fine to animate; the limit is {MAX_GRID}.")
    return dims  # type: ignore[return-value]
