"""Running per-class sums of what the gates did over a dataset: exactly mergeable, never any input's gates.

For each channel-attention block and each class: how many inputs, the float64 sum and sum of squares of every
channel's gate, and how often each channel's gate was above 0.9 or below 0.1 (the thresholds of the app's
saturation meter, ``render.channels.saturation``). For each spatial block: how many inputs with an object mask
were scored by the pointing game, and how many were hits. Everything is a count or a sum, so partial results of
any split of the dataset add up to the whole; class means, spreads, shares and rates are derived at the end.

A partial holds only the classes it saw (``rows``), so a batch's sums are as small as the batch. The merge adds
in a fixed order and the per-input values are exact in float64 (a float32 gate and its square are), so the same
partials merged in the same order give the same bits whatever process made them.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from visualiser.errors import VisualiserError
from visualiser.reference_stats import ReferenceStats

SATURATED = 0.9  # a gate above this is "on" (the saturation meter's upper threshold)
SHUT = 0.1  # a gate below this is "off"

_KINDS = ("sum", "sumsq", "above", "below")  # per channel block, each (rows, C)
_POINTING = ("hits", "trials")  # per spatial block, each (rows,)


@dataclass
class GateSums:
    """Per-class running sums; ``rows`` are the class indices present (increasing), one row each."""

    classes: tuple[str, ...]
    blocks: tuple[str, ...]  # channel-gate blocks, in forward order
    spatial: tuple[str, ...]  # spatial-gate blocks (the pointing game), in forward order
    rows: np.ndarray  # (r,) int64
    count: np.ndarray  # (r,) int64 inputs of each class
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # "<block>/sum" ... "<block>/hits"

    # --- making ---------------------------------------------------------------------------------------

    @classmethod
    def from_batch(
        cls,
        classes: Sequence[str],
        labels: np.ndarray,
        channel: Mapping[str, np.ndarray],
        hits: Mapping[str, np.ndarray] | None = None,
        scored: np.ndarray | None = None,
    ) -> GateSums:
        """The sums of one batch: ``labels`` (n,), ``channel[block]`` (n, C) gates, ``hits[block]`` (n,) bool.

        ``scored`` (n,) marks the inputs the pointing game scored (those with a mask); ``hits`` of the others are
        ignored. Inputs are added in their order, so the same batch always gives the same bits.
        """
        labels = np.asarray(labels, dtype=np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise ValueError(f"labels must lie in 0..{len(classes) - 1}")
        rows, inverse = np.unique(labels, return_inverse=True)
        r = rows.shape[0]
        order = np.argsort(inverse, kind="stable")  # each class's inputs together, in their batch order
        starts = np.flatnonzero(np.r_[True, np.diff(inverse[order]) != 0])
        arrays: dict[str, np.ndarray] = {}
        for block, gates in channel.items():
            g = np.asarray(gates)
            if g.ndim != 2 or g.shape[0] != labels.shape[0]:
                raise ValueError(f"gates of {block} must be (n, C) with n = {labels.shape[0]}, not {g.shape}")
            g = g[order]
            wide = g.astype(np.float64)
            arrays[f"{block}/sum"] = _segment_sums(wide, starts)
            arrays[f"{block}/sumsq"] = _segment_sums(wide * wide, starts)
            arrays[f"{block}/above"] = _segment_sums(g > SATURATED, starts).astype(np.int32)
            arrays[f"{block}/below"] = _segment_sums(g < SHUT, starts).astype(np.int32)
        hits = hits or {}
        scored = np.zeros(labels.shape[0], bool) if scored is None else np.asarray(scored, bool)
        for block, hit in hits.items():
            trials = np.zeros(r, np.int64)
            np.add.at(trials, inverse[scored], 1)
            won = np.zeros(r, np.int64)
            np.add.at(won, inverse[scored], np.asarray(hit, bool)[scored].astype(np.int64))
            arrays[f"{block}/hits"], arrays[f"{block}/trials"] = won, trials
        count = np.bincount(inverse, minlength=r).astype(np.int64)
        return cls(tuple(classes), tuple(channel), tuple(hits), rows.astype(np.int64), count, arrays)

    def add(self, other: GateSums) -> GateSums:
        """``self + other`` as a new object (rows are the union). Counts add; sums add in float64."""
        self._check_fits(other)
        rows = np.union1d(self.rows, other.rows).astype(np.int64)
        mine = np.searchsorted(rows, self.rows)
        grown = GateSums(
            self.classes,
            self.blocks,
            self.spatial,
            rows,
            np.zeros(rows.shape[0], np.int64),
            {k: np.zeros((rows.shape[0], *v.shape[1:]), v.dtype) for k, v in self.arrays.items()},
        )
        grown.count[mine] = self.count
        for key, value in self.arrays.items():
            grown.arrays[key][mine] = value
        return grown.absorb(other)

    def absorb(self, other: GateSums) -> GateSums:
        """Add ``other`` into these sums in place (a running total: no copy of its arrays); returns ``self``.

        Falls back to ``add`` when ``other`` has a class these sums have no row for.
        """
        self._check_fits(other)
        where = np.searchsorted(self.rows, other.rows)
        inside = where < self.rows.shape[0]
        if not (inside.all() and np.array_equal(self.rows[where], other.rows)):
            return self.add(other)
        self.count[where] += other.count
        for key, value in other.arrays.items():
            self.arrays[key][where] += value  # rows are unique: one addition per element
        return self

    def _check_fits(self, other: GateSums) -> None:
        if other.classes != self.classes:
            raise VisualiserError("partial statistics of different class lists cannot be merged")
        if (other.blocks, other.spatial) != (self.blocks, self.spatial):
            raise VisualiserError(
                f"partial statistics of different blocks cannot be merged: {self.blocks} vs {other.blocks}"
            )

    def dense(self) -> GateSums:
        """The same sums (a copy) with one row for every class; absent classes count zero."""
        k = len(self.classes)
        empty = GateSums(
            self.classes,
            self.blocks,
            self.spatial,
            np.arange(k, dtype=np.int64),
            np.zeros(k, np.int64),
            {key: np.zeros((k, *v.shape[1:]), v.dtype) for key, v in self.arrays.items()},
        )
        return empty.absorb(self)

    # --- reading --------------------------------------------------------------------------------------

    @property
    def inputs(self) -> int:
        """How many inputs these sums hold."""
        return int(self.count.sum())

    def channels(self, block: str) -> int:
        """Channels of a channel-gate block."""
        return int(self.arrays[f"{block}/sum"].shape[1])

    def per_class(self, block: str, kind: str) -> np.ndarray:
        """(K, ...) array ``kind`` of ``block`` with a row for every class (zeros where a class is absent)."""
        values = self.arrays[f"{block}/{kind}"]
        full = np.zeros((len(self.classes), *values.shape[1:]), values.dtype)
        full[self.rows] = values
        return full

    def class_counts(self) -> np.ndarray:
        """(K,) inputs per class."""
        full = np.zeros(len(self.classes), np.int64)
        full[self.rows] = self.count
        return full

    def class_mean(self, block: str) -> np.ndarray:
        """(K, C) float64 mean gate per class; NaN rows for classes with no input."""
        counts = self.class_counts()[:, None].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.per_class(block, "sum") / counts

    def class_std(self, block: str) -> np.ndarray:
        """(K, C) float64 population standard deviation per class (from the sums: E[g²] − E[g]²)."""
        counts = self.class_counts()[:, None].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.per_class(block, "sum") / counts
            variance = self.per_class(block, "sumsq") / counts - mean * mean
        return np.sqrt(np.maximum(variance, 0.0), where=~np.isnan(variance), out=np.full_like(variance, np.nan))

    def all_mean(self, block: str) -> np.ndarray:
        """(C,) float64 mean gate over every input."""
        return self.arrays[f"{block}/sum"].sum(0) / max(1, self.inputs)

    def reference_stats(self) -> ReferenceStats:
        """The Fig. 6 statistics (``visualiser.reference_stats``): class means, spreads and all-input means."""
        if not self.blocks:
            raise VisualiserError("no channel-attention block was recorded, so there are no class-mean curves")
        return ReferenceStats(
            classes=self.classes,
            counts=self.class_counts(),
            class_mean={b: self.class_mean(b).astype(np.float32) for b in self.blocks},
            all_mean={b: self.all_mean(b).astype(np.float32) for b in self.blocks},
            class_std={b: self.class_std(b).astype(np.float32) for b in self.blocks},
        )

    # --- storing --------------------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array by name (no pickled objects), for ``np.savez``."""
        return {
            "classes": np.array(self.classes),
            "blocks": np.array(self.blocks, dtype=str),
            "spatial": np.array(self.spatial, dtype=str),
            "rows": self.rows,
            "count": self.count,
            **{f"sums/{k}": v for k, v in self.arrays.items()},
        }

    @classmethod
    def from_arrays(cls, items: Mapping[str, np.ndarray]) -> GateSums:
        """Inverse of ``to_arrays``."""
        arrays = {k.removeprefix("sums/"): np.asarray(v) for k, v in items.items() if k.startswith("sums/")}
        return cls(
            tuple(str(c) for c in items["classes"]),
            tuple(str(b) for b in items["blocks"]),
            tuple(str(b) for b in items["spatial"]),
            np.asarray(items["rows"], np.int64),
            np.asarray(items["count"], np.int64),
            arrays,
        )

    def to_bytes(self) -> bytes:
        """The arrays pickled (protocol 5): how a Ray actor hands its partial to the driver, its own process."""
        return pickle.dumps(self.to_arrays(), protocol=5)

    @classmethod
    def from_bytes(cls, data: bytes) -> GateSums:
        """Inverse of ``to_bytes`` (only for bytes this job made: unpickling runs what the bytes say)."""
        return cls.from_arrays(pickle.loads(data))


def _segment_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(len(starts), C) sums of the row runs ``values[starts[i]:starts[i+1]]``: one vectorised sum per class.

    A fixed computation of its input, so the same batch always gives the same bits (``np.add.reduceat`` would
    too, but is ten times slower when most classes have one row, as in a shuffled list).
    """
    ends = np.r_[starts[1:], values.shape[0]]
    return np.stack([values[a] if b - a == 1 else values[a:b].sum(axis=0) for a, b in zip(starts, ends, strict=True)])


def merge_all(parts: Sequence[GateSums | None]) -> GateSums | None:
    """Left-to-right sum of partials (``None`` entries are batches that had no usable input)."""
    total: GateSums | None = None
    for part in parts:
        if part is not None:
            total = part.dense() if total is None else total.absorb(part)
    return total
