"""What the parts of a job hand each other: one batch's ``Outcome`` (engine → job) and the finished ``DatasetRun``
(job → report → caller)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from visualiser.dataset.sums import GateSums

Failure = tuple[int, str, str]  # (row, path, reason) of a file that could not be used


@dataclass
class Outcome:
    """One batch done: which rows it covered, their sums (None if no row was usable) and the failures."""

    first_row: int
    rows: int
    sums: GateSums | None
    failures: list[Failure]


@dataclass(frozen=True)
class DatasetRun:
    """A finished job: the merged sums, the files that were skipped and why, how the run went, what it wrote."""

    model: str
    model_title: str
    source: str
    sums: GateSums
    files: int  # rows listed
    failures: tuple[Failure, ...]  # every skipped file
    engine: str
    batch_size: int
    seconds: float  # this run's own time (a resumed run counts only its part)
    rows_this_run: int
    resumed_from: int = 0
    uses_masks: bool = True
    written: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def files_per_second(self) -> float:
        """This run's throughput."""
        return self.rows_this_run / max(1e-9, self.seconds)


def file_name(model: str) -> str:
    """A model name as a file name."""
    return re.sub(r"[^\w.-]", "_", model)
