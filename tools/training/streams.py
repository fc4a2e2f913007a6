"""Seeded batch streams for training and held-out evaluation.

Batch ``step`` of a stream holds samples ``step·B .. step·B + B - 1`` of generator stream
``seed``, so a resumed run sees exactly the batches an uninterrupted one would have. A worker
process draws the batches ahead of the training step (generation is numpy + Pillow on one core).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from tools.data import motion, shapes
from visualiser.models.registry import Preprocess
from visualiser.preprocess import normalise

DataKind = Literal["shapes", "motion"]


@dataclass(frozen=True)
class Batch:
    """Network-ready inputs with the ground truth the metrics need."""

    inputs: torch.Tensor  # (B, 3, H, W) images or (B, 3, T, H, W) clips, normalised
    labels: torch.Tensor  # (B,) int64
    boxes: np.ndarray  # (B, 4) images or (B, T, 4) clips, pixel boxes of the object


def class_names(kind: DataKind) -> tuple[str, ...]:
    """Label names of a dataset, in label order."""
    return shapes.CLASSES if kind == "shapes" else motion.CLASSES


def generator_version(kind: DataKind) -> str:
    """The generator version string a card records."""
    return shapes.GENERATOR_VERSION if kind == "shapes" else motion.GENERATOR_VERSION


def curriculum(index: int, ramp_samples: int) -> float:
    """Clutter of training sample ``index``: rises linearly from 0 to 1 over the first ``ramp_samples``."""
    return 1.0 if ramp_samples <= 0 else min(1.0, index / ramp_samples)


def make_batch(kind: DataKind, seed: int, n: int, pre: Preprocess, start: int = 0, ramp_samples: int = 0) -> Batch:
    """Samples ``start .. start+n-1`` of stream ``seed``, normalised as the model spec says.

    ``ramp_samples`` > 0 applies the training curriculum (``curriculum``); 0 is the full task.
    """
    levels = [curriculum(start + i, ramp_samples) for i in range(n)]
    if kind == "shapes":
        b = shapes.make_batch(seed, n, size=pre.input_size, start=start, clutter=levels)
        x = normalise(b.images, pre)  # (N, 3, H, W)
        return Batch(x.contiguous(), torch.from_numpy(b.labels), b.boxes)
    frames = pre.frames or motion.DEFAULT_FRAMES
    c = motion.make_batch(seed, n, frames=frames, size=pre.input_size, start=start, clutter=levels)
    x = normalise(c.clips, pre).transpose(1, 2)  # (N, T, 3, H, W) -> (N, 3, T, H, W)
    return Batch(x.contiguous(), torch.from_numpy(c.labels), c.boxes)


class _Stream(IterableDataset):
    def __init__(
        self, kind: DataKind, seed: int, batch_size: int, pre: Preprocess, first: int, last: int, ramp_samples: int
    ) -> None:
        super().__init__()
        self.kind, self.seed, self.batch_size, self.pre = kind, seed, batch_size, pre
        self.first, self.last, self.ramp_samples = first, last, ramp_samples

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if get_worker_info() is not None:
            torch.set_num_threads(1)  # the worker only draws pictures; the training process owns the cores
        for step in range(self.first, self.last):
            start = step * self.batch_size
            b = make_batch(self.kind, self.seed, self.batch_size, self.pre, start=start, ramp_samples=self.ramp_samples)
            yield b.inputs, b.labels


def training_batches(
    kind: DataKind,
    seed: int,
    batch_size: int,
    pre: Preprocess,
    first: int,
    last: int,
    workers: int = 1,
    ramp_samples: int = 0,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches ``first .. last-1`` of the training stream, drawn ahead by ``workers`` processes.

    With one worker the order is the step order; with none, batches are drawn in this process.
    """
    dataset = _Stream(kind, seed, batch_size, pre, first, last, ramp_samples)
    if workers <= 0:
        return iter(dataset)
    if workers > 1:
        raise ValueError("use at most one worker: more would break the step order of the stream")
    loader = DataLoader(dataset, batch_size=None, num_workers=1, prefetch_factor=4, persistent_workers=False)
    return iter(loader)
