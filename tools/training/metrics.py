"""Scores for the embedded models: accuracy per class and the pointing game of a spatial gate.

Pure functions on numpy arrays, so tests can check them against hand-made inputs.
"""

from __future__ import annotations

import math

import numpy as np


def per_class_accuracy(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """(K,) share of correct predictions within each true class; NaN for a class with no samples."""
    out = np.full(num_classes, np.nan)
    for k in range(num_classes):
        hit = labels == k
        if hit.any():
            out[k] = float((predicted[hit] == k).mean())
    return out


def box_on_grid(box: tuple[int, int, int, int], image_hw: tuple[int, int], grid_hw: tuple[int, int]) -> tuple[int, ...]:
    """The grid cells (gx0, gy0, gx1, gy1), exclusive ends, that a pixel box touches.

    Cell (i, j) of an h×w grid over an H×W image covers pixels [j·W/w, (j+1)·W/w) × [i·H/h, (i+1)·H/h),
    which is how a stride-s feature map's cells sit over the input.
    """
    x0, y0, x1, y1 = box
    (height, width), (gh, gw) = image_hw, grid_hw
    sx, sy = width / gw, height / gh
    gx0, gy0 = math.floor(x0 / sx), math.floor(y0 / sy)
    gx1, gy1 = math.ceil(x1 / sx), math.ceil(y1 / sy)
    return (max(0, gx0), max(0, gy0), min(gw, max(gx1, gx0 + 1)), min(gh, max(gy1, gy0 + 1)))


def pointing_hits(maps: np.ndarray, boxes: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """(N,) bool: does each map's argmax cell fall inside its object's box mapped onto the map's grid?

    ``maps`` is (N, h, w), or (N, T, h, w) with ``boxes`` (N, T, 4) for clips, where a hit means the
    argmax over the whole T×h×w volume lies in that frame's box (the temporal axis of the gate maps
    evenly onto the clip's frames).
    """
    if maps.ndim == 3:
        hits = []
        for m, box in zip(maps, boxes, strict=True):
            i, j = np.unravel_index(int(np.argmax(m)), m.shape)
            gx0, gy0, gx1, gy1 = box_on_grid(tuple(int(v) for v in box), image_hw, m.shape)
            hits.append(gx0 <= j < gx1 and gy0 <= i < gy1)
        return np.array(hits, dtype=bool)
    if maps.ndim == 4:
        hits = []
        frames = boxes.shape[1]
        for m, frame_boxes in zip(maps, boxes, strict=True):
            t, i, j = np.unravel_index(int(np.argmax(m)), m.shape)
            f = min(frames - 1, int((t + 0.5) * frames / m.shape[0]))
            gx0, gy0, gx1, gy1 = box_on_grid(tuple(int(v) for v in frame_boxes[f]), image_hw, m.shape[1:])
            hits.append(gx0 <= j < gx1 and gy0 <= i < gy1)
        return np.array(hits, dtype=bool)
    raise ValueError(f"maps must be (N, h, w) or (N, T, h, w), got shape {maps.shape}")


def class_means(vectors: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class mean and standard deviation of (N, C) vectors, and the class counts.

    Returns (K, C) means, (K, C) standard deviations (NaN rows for absent classes) and (K,) counts.
    """
    c = vectors.shape[1]
    means = np.full((num_classes, c), np.nan, dtype=np.float32)
    stds = np.full((num_classes, c), np.nan, dtype=np.float32)
    counts = np.zeros(num_classes, dtype=np.int64)
    for k in range(num_classes):
        rows = vectors[labels == k]
        counts[k] = len(rows)
        if len(rows):
            means[k] = rows.mean(0)
            stds[k] = rows.std(0)
    return means, stds, counts
