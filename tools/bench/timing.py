"""Medians of wall times, and paired medians of two functions called alternately (drift hits both alike)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

Clock = Callable[[], float]


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1, clock: Clock = time.perf_counter) -> float:
    """Median wall time of ``fn`` in seconds over ``repeats`` calls, after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def paired_median_times(
    first: Callable[[], object],
    second: Callable[[], object],
    repeats: int,
    warmup: int = 1,
    clock: Clock = time.perf_counter,
) -> tuple[float, float]:
    """Median times of two functions called alternately (first, second, first, ...), after ``warmup`` pairs.

    On a shared CPU the load drifts over seconds; alternating the calls makes the drift hit both figures
    equally, so their ratio holds even when the absolute times do not.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        first()
        second()
    a, b = [], []
    for _ in range(repeats):
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        a.append(t1 - t0)
        b.append(t2 - t1)
    return statistics.median(a), statistics.median(b)
