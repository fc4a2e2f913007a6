"""Medians of wall times, and medians of functions called in turn (drift on a shared CPU hits all alike)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

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
    a, b = interleaved_median_times((first, second), repeats, warmup, clock)
    return a, b


def interleaved_median_times(
    fns: Sequence[Callable[[], object]], repeats: int, warmup: int = 1, clock: Clock = time.perf_counter
) -> tuple[float, ...]:
    """Median times of several functions called in turn (a, b, c, a, b, c, ...), after ``warmup`` rounds."""
    return tuple(statistics.median(spent) for spent in interleaved_times(fns, repeats, warmup, clock))


def interleaved_times(
    fns: Sequence[Callable[[], object]], repeats: int, warmup: int = 1, clock: Clock = time.perf_counter
) -> list[list[float]]:
    """Every time of several functions called in turn (a, b, c, a, b, c, ...), after ``warmup`` rounds."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times, strict=True):
            t0 = clock()
            fn()
            spent.append(clock() - t0)
    return times
