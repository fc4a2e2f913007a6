"""Progress of a long job on the terminal: files done, files per second, time left, files skipped."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Throttled one-line reports; on a terminal the line is rewritten, elsewhere a line every ``every`` seconds.

    The rate counts only this run's files (a resumed run does not inherit the old run's speed).
    """

    def __init__(self, total: int, done: int, stream: TextIO | None = None, every: float = 2.0) -> None:
        self.total, self.done, self.skipped = total, done, 0
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if self.terminal else max(every, 10.0)
        self.start = self.last = time.perf_counter()
        self.first_done = done

    @property
    def rate(self) -> float:
        """Files per second in this run so far."""
        return (self.done - self.first_done) / max(1e-9, time.perf_counter() - self.start)

    def line(self) -> str:
        """The current report, e.g. ``1,024 / 50,000 files (2.0 %) | 31.2 files/s | 26 min left | 3 skipped``."""
        share = 100 * self.done / max(1, self.total)
        rate = self.rate
        left = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        return (
            f"{self.done:,} / {self.total:,} files ({share:.1f} %) | {rate:.1f} files/s | {left} left"
            f" | {self.skipped} skipped"
        )

    def update(self, rows: int, skipped: int) -> None:
        """``rows`` more rows done, ``skipped`` of them unusable."""
        self.done += rows
        self.skipped += skipped
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self._write()

    def finish(self) -> None:
        """The last report, ending the line."""
        self._write()
        if self.terminal:
            self.stream.write("\n")
        self.stream.flush()

    def _write(self) -> None:
        if self.terminal:
            self.stream.write("\r" + self.line() + "   ")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
