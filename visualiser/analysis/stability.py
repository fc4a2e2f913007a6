"""How stable attention is across a clip (feature idea 8): frame-to-frame agreement of each block's gates.

Image models gate every sampled frame on its own, so consecutive frames are compared: cosine similarity
of the channel gates, Pearson correlation of the spatial gates. A 3-D model computes one channel gate for
the whole clip (nothing to compare) and a (T', H', W') spatial gate, whose consecutive time slices are
compared instead. numpy only: the stability figure is handed these scores and only draws them.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from visualiser.result import ClipResult
from visualiser.scores import StabilityScores

__all__ = ["StabilityScores", "correlation", "cosine", "stability_scores"]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors; NaN when either is all zeros."""
    x, y = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denom = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y / denom) if denom > 0 else float("nan")


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equally shaped maps; NaN when either is constant."""
    x = np.ravel(a).astype(np.float64)
    y = np.ravel(b).astype(np.float64)
    x, y = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y / denom) if denom > 0 else float("nan")


def stability_scores(clip: ClipResult) -> StabilityScores:
    """Consecutive-pair agreement of every block's gates over the clip (see the module docstring)."""
    channel: dict[str, np.ndarray] = {}
    spatial: dict[str, np.ndarray] = {}
    if clip.is_3d:
        for block in clip.blocks:
            gate = block.spatial_gate
            if gate is not None and gate.ndim == 3:
                spatial[block.name] = np.array([correlation(gate[t], gate[t + 1]) for t in range(gate.shape[0] - 1)])
        return StabilityScores(channel, spatial, over_time_slices=True)
    for block in clip.frame_blocks(0):
        pairs = list(pairwise(clip.block(block.name, i) for i in range(len(clip.per_frame))))
        if block.channel_gate is not None:
            channel[block.name] = np.array([cosine(a.channel_gate, b.channel_gate) for a, b in pairs])
        if block.spatial_gate is not None:
            spatial[block.name] = np.array([correlation(a.spatial_gate, b.spatial_gate) for a, b in pairs])
    return StabilityScores(channel, spatial)
