"""How much two maps over the same crop agree: Spearman rank correlation and IoU of their top regions.

Used to compare a CBAM spatial gate with Grad-CAM (feature idea 6). Both cover the model's crop,
so they are compared on one common grid (the finer of the two, both bilinearly resampled).
Written with numpy only (no scipy at runtime).
"""

from __future__ import annotations

import math

import numpy as np

from visualiser.render._common import map_onto_canvas


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n−1 of the flattened values, tied values sharing their average rank (as Spearman needs)."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    new_group = np.empty(flat.size, dtype=bool)
    new_group[:1] = True
    new_group[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(new_group) - 1  # group id of each sorted position
    starts = np.flatnonzero(new_group)
    counts = np.diff(np.append(starts, flat.size))
    mean_rank = starts + (counts - 1) / 2.0
    ranks = np.empty(flat.size, dtype=np.float64)
    ranks[order] = mean_rank[group]
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two equally shaped maps; NaN when either is constant (undefined)."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / denom) if denom > 0 else float("nan")


def top_region(values: np.ndarray, fraction: float = 0.2) -> np.ndarray:
    """Boolean mask of the ``ceil(fraction·n)`` largest cells (ties broken by position, first wins)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be within (0, 1], got {fraction}")
    flat = np.asarray(values).ravel()
    count = max(1, math.ceil(fraction * flat.size))
    chosen = np.argsort(-flat, kind="stable")[:count]
    mask = np.zeros(flat.size, dtype=bool)
    mask[chosen] = True
    return mask.reshape(np.shape(values))


def top_region_iou(a: np.ndarray, b: np.ndarray, fraction: float = 0.2) -> float:
    """Intersection over union of the two maps' top-``fraction`` regions."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    ma, mb = top_region(a, fraction), top_region(b, fraction)
    return float((ma & mb).sum() / (ma | mb).sum())


def common_grid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both maps on the finer grid (max height × max width), resampled bilinearly over the same crop."""
    height, width = max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1])
    box = (0.0, 0.0, float(width), float(height))
    ra = a if a.shape == (height, width) else map_onto_canvas(a, box, (width, height))[0]
    rb = b if b.shape == (height, width) else map_onto_canvas(b, box, (width, height))[0]
    return np.asarray(ra, dtype=np.float32), np.asarray(rb, dtype=np.float32)


def map_agreement(a: np.ndarray, b: np.ndarray, fraction: float = 0.2) -> dict[str, float | list[int] | None]:
    """Spearman correlation and top-region IoU of two 2-D maps over the same crop, at a common resolution.

    Returns ``{"spearman", "iou_top", "top_fraction", "resolution"}``; ``spearman`` is None when a map
    is constant (rank correlation is undefined there).
    """
    if np.ndim(a) != 2 or np.ndim(b) != 2:
        raise ValueError(f"agreement needs two 2-D maps, got shapes {np.shape(a)} and {np.shape(b)}")
    ra, rb = common_grid(np.asarray(a), np.asarray(b))
    rho = spearman(ra, rb)
    return {
        "spearman": None if math.isnan(rho) else rho,
        "iou_top": top_region_iou(ra, rb, fraction),
        "top_fraction": fraction,
        "resolution": [int(ra.shape[0]), int(ra.shape[1])],
    }
