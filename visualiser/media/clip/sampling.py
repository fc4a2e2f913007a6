"""Which frames to keep: evenly spaced picks, a bounded reservoir for streams of unknown length, a time budget."""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence

import numpy as np

from visualiser.errors import InputError


def select_evenly(times: Sequence[float], count: int, end: float | None = None) -> list[int]:
    """Pick ``count`` distinct, increasing indices whose times lie nearest the centres of ``count`` equal segments.

    Greedy and order-preserving: each pick is the nearest frame to its target but at least one after the previous
    pick and leaving room for the rest, so the result always has ``min(count, len(times))`` entries.

    Args:
        times: Increasing frame times.
        count: How many to pick.
        end: End of the sampled span; defaults to one mean frame interval after the last time.
    """
    total = len(times)
    if total <= count:
        return list(range(total))
    start = times[0]
    if end is None or end <= times[-1]:
        end = times[-1] + (times[-1] - start) / (total - 1)
    positions: Sequence[float] = times
    if end <= start:  # all times equal (e.g. a GIF with zero delays): fall back to frame positions
        positions, start, end = range(total), 0.0, float(total)
    chosen: list[int] = []
    for slot in range(count):
        target = start + (slot + 0.5) * (end - start) / count
        index = bisect.bisect_left(positions, target)
        if index > 0 and (index == total or target - positions[index - 1] <= positions[index] - target):
            index -= 1
        lowest = chosen[-1] + 1 if chosen else 0
        chosen.append(min(max(index, lowest), total - (count - slot)))
    return chosen


class Reservoir:
    """An evenly spaced subset of a stream of unknown length in bounded memory.

    Keeps every ``stride``-th item; when full, drops every other one and doubles the stride.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 2)
        self.stride = 1
        self.items: list[tuple[float, np.ndarray]] = []

    def wants(self, index: int) -> bool:
        """Whether the ``index``-th item of the stream would be kept (so only those are converted)."""
        return index % self.stride == 0

    def add(self, when: float, pixels: np.ndarray) -> None:
        """Keep a frame shown at ``when`` seconds, thinning the reservoir when it overflows."""
        self.items.append((when, pixels))
        if len(self.items) > self.capacity:
            self.items = self.items[::2]
            self.stride *= 2


class Budget:
    """Wall-clock guard checked between frames: a pathological file fails instead of tying up a worker."""

    def __init__(self, seconds: float, name: str) -> None:
        self.seconds, self.name = seconds, name
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        """Raise ``InputError`` once the budget is spent."""
        if time.monotonic() > self.deadline:
            raise InputError(
                f"decoding {self.name} took longer than {self.seconds:g} s; try a shorter or lower-resolution clip"
            )


def minutes(seconds: float) -> str:
    """A length as a person reads it in a message: seconds below two minutes, else minutes."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"
