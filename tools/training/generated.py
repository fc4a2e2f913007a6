"""An embedded model's held-out generated data as a dataset source: its shipped statistics come from here.

``python -m tools.training stats shapes_se`` and training (``loop.py``) both run the dataset job over this
source: samples ``0 .. n-1`` of the card's evaluation stream (``recipe.eval_seed``), at the evaluation's batch
size, so the shipped ``<model>.stats.npz`` is reproduced to the last bit. The pointing game scores each sample's
object box (the card's rule), carried as a filled mask.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tools.training.evaluation import EVAL_BATCH
from tools.training.recipes import get_recipe
from tools.training.streams import DataKind, class_names, make_batch
from visualiser.dataset.decode import DecodedBatch, Prepare, Rows
from visualiser.dataset.pointing import box_mask
from visualiser.errors import InputError

if TYPE_CHECKING:
    import ray.data


class HeldOutSource:
    """Samples ``0 .. samples-1`` of generator stream ``seed`` (a ``visualiser.dataset`` source)."""

    preferred_batch = EVAL_BATCH  # the card's evaluation batches: the same forward passes, the same bits

    def __init__(self, kind: DataKind, seed: int, samples: int) -> None:
        if samples < 1:
            raise InputError(f"samples must be at least 1, not {samples}")
        self.kind, self.seed, self.size = kind, seed, samples
        self.classes = class_names(kind)
        self.description = f"generated {kind} data, stream {seed}, samples 0..{samples - 1}"

    def row_batches(self, batch_size: int, first_row: int, worker: int = 0, workers: int = 1) -> Iterator[Rows]:
        """Index ranges of ``batch_size`` samples."""
        for number, start in enumerate(range(first_row, self.size, batch_size)):
            if number % workers == worker:
                yield {"index": np.arange(start, min(start + batch_size, self.size), dtype=np.int64)}

    def decode(self, rows: Rows, prepare: Prepare) -> DecodedBatch:
        """Generate the samples of these rows, with their object boxes as input-frame masks."""
        index = np.asarray(rows["index"], np.int64)
        start = int(index[0])
        if not np.array_equal(index, np.arange(start, start + index.shape[0])):
            raise ValueError("generated rows come in contiguous ranges")
        batch = make_batch(self.kind, self.seed, index.shape[0], prepare.preprocess, start=start)
        size = prepare.preprocess.input_size
        if batch.boxes.ndim == 2:  # images: (n, 4)
            targets = np.stack([box_mask(box, size) for box in batch.boxes])
        else:  # clips: (n, T, 4), one box per frame
            targets = np.stack([np.stack([box_mask(box, size) for box in boxes]) for boxes in batch.boxes])
        return DecodedBatch(
            index=index,
            inputs=batch.inputs,
            labels=batch.labels.numpy(),
            targets=targets,
            scored=np.ones(index.shape[0], bool),
            first_row=start,
            rows=index.shape[0],
        )

    def ray_dataset(self, first_row: int, batch_size: int) -> ray.data.Dataset:
        """The sample numbers as Ray blocks of 8 batches each, made here (no read task waits for a CPU)."""
        import pandas as pd
        import ray.data

        step = 8 * batch_size
        starts = range(first_row, self.size, step)
        return ray.data.from_pandas(
            [pd.DataFrame({"index": np.arange(a, min(a + step, self.size), dtype=np.int64)}) for a in starts]
        )


def held_out_source(model: str, samples: int | None = None, seed: int | None = None) -> HeldOutSource:
    """The held-out data an embedded model's card was scored on (``samples`` / ``seed`` default to the card's)."""
    recipe = get_recipe(model)
    return HeldOutSource(
        recipe.data,
        recipe.eval_seed if seed is None else seed,
        recipe.eval_samples if samples is None else samples,
    )
