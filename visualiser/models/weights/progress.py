"""Download progress: bytes turned into ``ProgressFn`` calls (``"… 12.5 of 112.5 MB"``), and a terminal printer.

A ``ProgressFn`` gets ``(fraction, text)``: the fraction never decreases, the first call comes before the first
byte and the last one says the file is complete, and calls in between are spaced by at least ``interval_s`` so a
fast local copy does not flood a UI. Callers pass one explicitly (the UI hands over a ``gr.Progress``); the CLI
sets a default for everything it runs with ``reporting_downloads``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TextIO

from visualiser.types import ProgressFn

MB = 1_000_000  # decimal megabytes, as the model cards give sizes

_DEFAULT: ContextVar[ProgressFn | None] = ContextVar("visualiser_download_progress", default=None)


@contextmanager
def reporting_downloads(progress: ProgressFn) -> Iterator[None]:
    """Within the block, downloads that were given no ``progress`` of their own report to this one."""
    token = _DEFAULT.set(progress)
    try:
        yield
    finally:
        _DEFAULT.reset(token)


def resolve(progress: ProgressFn | None) -> ProgressFn | None:
    """The caller's progress function, else the one ``reporting_downloads`` set, else None."""
    return progress if progress is not None else _DEFAULT.get()


def megabytes(count: int) -> str:
    """Bytes as one-decimal megabytes: ``12.5``."""
    return f"{count / MB:.1f}"


class DownloadProgress:
    """Counts one file's bytes and reports them to a ``ProgressFn`` (or nowhere, when it is None).

    ``expected_bytes`` is the catalogue's size, used only until the server says how long the file is; an
    estimated total is shown as ``of about``.
    """

    def __init__(
        self, progress: ProgressFn | None, what: str, expected_bytes: int | None = None, interval_s: float = 0.1
    ) -> None:
        self.progress = progress
        self.what = what
        self.total = expected_bytes if expected_bytes and expected_bytes > 0 else None
        self.exact = False
        self.interval_s = interval_s
        self.done = 0
        self._fraction = 0.0
        self._last_report = -float("inf")
        self._started = False
        self._last: tuple[float, str] | None = None

    def set_total(self, total: int | None) -> None:
        """The file's real length, once known (a ``Content-Length``, the hub's metadata)."""
        if total is not None and total > 0:
            self.total, self.exact = total, True

    def update(self, done: int) -> None:
        """``done`` bytes of the file are here (a running total, not an increment)."""
        self.done = max(self.done, done)
        now = time.monotonic()
        if not self._started or now - self._last_report >= self.interval_s:
            self._report(now)

    def finish(self, size: int | None = None) -> None:
        """The file is complete (``size`` bytes, when the count did not see them all): report its full size."""
        self.done = max(self.done, size or 0)
        self.total, self.exact = max(self.done, 1), True
        self._report(time.monotonic())

    def _report(self, now: float) -> None:
        self._started, self._last_report = True, now
        if self.progress is None:
            return
        if self.total is None:
            fraction, of = 0.0, "unknown size"
        else:
            fraction = min(self.done / self.total, 1.0 if self.exact else 0.99)
            of = f"{'' if self.exact else 'about '}{megabytes(self.total)} MB"
        self._fraction = max(self._fraction, fraction)
        report = (self._fraction, f"downloading {self.what}: {megabytes(self.done)} of {of}")
        if report != self._last:  # the end of a download is often counted twice (last chunk, then finish)
            self._last = report
            self.progress(*report)


class TextProgress:
    """A ``ProgressFn`` for a terminal: one line updated in place on a TTY, a line per quarter otherwise.

    Logs and CI output get at most five lines per file (0, 25, 50, 75, 100 %) instead of hundreds.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._next_quarter = 0
        self._width = 0

    def __call__(self, fraction: float, text: str) -> None:
        done = fraction >= 1.0
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width) + ("\n" if done else ""))
            self._width = 0 if done else len(text)
        elif done or fraction * 4 >= self._next_quarter:
            self.stream.write(text + "\n")
            self._next_quarter = int(fraction * 4) + 1
        if done:
            self._next_quarter = 0
        self.stream.flush()
