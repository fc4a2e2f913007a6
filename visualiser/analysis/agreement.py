"""How much two maps (or vectors) agree: Spearman rank correlation and IoU of their top regions.

Used to compare a CBAM spatial gate with Grad-CAM (feature idea 6), and an SE/ECA block's squeeze
with its excitation. Two maps over the same crop are compared on one common grid (the finer of the
two, both bilinearly resampled). numpy only (no scipy, no torch): the renderers are handed these
frozen scores and only draw them.
"""

from __future__ import annotations

import math

import numpy as np

from visualiser.result import BlockAttention, ImageResult
from visualiser.scores import TOP_FRACTION, ImageAgreement, MapAgreement

__all__ = ["TOP_FRACTION", "ImageAgreement", "MapAgreement", "image_agreement", "map_agreement", "spearman"]


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
    """Spearman rank correlation of two equally shaped arrays; NaN when either is constant (undefined)."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    ra, rb = average_ranks(a), average_ranks(b)
    ra -= ra.mean()
    rb -= rb.mean()
    denom = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb / denom) if denom > 0 else float("nan")


def top_region(values: np.ndarray, fraction: float = TOP_FRACTION) -> np.ndarray:
    """Boolean mask of the ``ceil(fraction·n)`` largest cells (ties broken by position, first wins)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be within (0, 1], got {fraction}")
    flat = np.asarray(values).ravel()
    count = max(1, math.ceil(fraction * flat.size))
    chosen = np.argsort(-flat, kind="stable")[:count]
    mask = np.zeros(flat.size, dtype=bool)
    mask[chosen] = True
    return mask.reshape(np.shape(values))


def top_region_iou(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """Intersection over union of the two maps' top-``fraction`` regions."""
    if np.shape(a) != np.shape(b):
        raise ValueError(f"maps must have the same shape, got {np.shape(a)} and {np.shape(b)}")
    ma, mb = top_region(a, fraction), top_region(b, fraction)
    return float((ma & mb).sum() / (ma | mb).sum())


def _linear_axis(grid: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Resample one axis to ``size`` samples: half-pixel centres, edges clamped (``align_corners=False``)."""
    n = grid.shape[axis]
    if n == size:
        return grid
    u = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0.0, n - 1)
    i0 = np.floor(u).astype(np.intp)
    i1 = np.minimum(i0 + 1, n - 1)
    shape = [1, 1]
    shape[axis] = size
    frac = (u - i0).astype(np.float32).reshape(shape)
    return np.take(grid, i0, axis=axis) * (1.0 - frac) + np.take(grid, i1, axis=axis) * frac


def resample(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A 2-D map bilinearly resampled to ``shape`` over the same extent (as torch's bilinear, no corner alignment)."""
    values = np.asarray(grid, dtype=np.float32)
    return _linear_axis(_linear_axis(values, shape[0], 0), shape[1], 1)


def common_grid(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both maps on the finer grid (max height × max width), resampled bilinearly over the same crop."""
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    return resample(a, shape), resample(b, shape)


def map_agreement(a: np.ndarray, b: np.ndarray, fraction: float = TOP_FRACTION) -> MapAgreement:
    """Spearman correlation and top-region IoU of two 2-D maps over the same crop, at a common resolution."""
    if np.ndim(a) != 2 or np.ndim(b) != 2:
        raise ValueError(f"agreement needs two 2-D maps, got shapes {np.shape(a)} and {np.shape(b)}")
    ra, rb = common_grid(np.asarray(a), np.asarray(b))
    rho = spearman(ra, rb)
    return MapAgreement(
        spearman=None if math.isnan(rho) else rho,
        iou_top=top_region_iou(ra, rb, fraction),
        top_fraction=fraction,
        resolution=(int(ra.shape[0]), int(ra.shape[1])),
    )


def squeeze_gate_spearman(block: BlockAttention) -> float | None:
    """Does the excitation follow the average activation? Spearman of squeeze against gate; None if undefined."""
    if block.squeeze is None or block.channel_gate is None:
        return None
    rho = spearman(block.squeeze, block.channel_gate)
    return None if math.isnan(rho) else rho


def image_agreement(result: ImageResult, top_fraction: float = TOP_FRACTION) -> ImageAgreement:
    """Grad-CAM against every 2-D spatial gate (when the result has a Grad-CAM) and squeeze against gate."""
    gradcam = {}
    if result.gradcam is not None:
        for block in result.spatial_blocks:
            if block.spatial_gate is not None and block.spatial_gate.ndim == 2:
                gradcam[block.name] = map_agreement(result.gradcam, block.spatial_gate, top_fraction)
    squeeze = {
        b.name: squeeze_gate_spearman(b) for b in result.blocks if b.squeeze is not None and b.channel_gate is not None
    }
    return ImageAgreement(gradcam=gradcam, squeeze_gate=squeeze)
