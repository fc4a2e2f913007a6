"""The local engine: worker processes decode batches ahead while this process runs the network on them.

Batch j of the listing is decoded by worker ``j % workers`` (a torch ``DataLoader`` over an iterable dataset:
tensors come back through shared memory, in batch order) and reduced here, in order, by the one model. With
``workers=0`` everything runs in this process. No service, nothing to install.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from visualiser.dataset.decode import DecodedBatch, Prepare
from visualiser.dataset.records import Outcome
from visualiser.dataset.runner import GateRunner
from visualiser.dataset.sources import Source


class _Decoded(IterableDataset):
    def __init__(self, source: Source, prepare: Prepare, batch_size: int, first_row: int) -> None:
        super().__init__()
        self.source, self.prepare, self.batch_size, self.first_row = source, prepare, batch_size, first_row

    def __iter__(self) -> Iterator[DecodedBatch]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for rows in self.source.row_batches(self.batch_size, self.first_row, worker, workers):
            yield self.source.decode(rows, self.prepare)


def _as_is(batch: DecodedBatch) -> DecodedBatch:
    return batch


def local_outcomes(
    source: Source, prepare: Prepare, runner: GateRunner, first_row: int, workers: int
) -> Iterator[Outcome]:
    """Every batch from row ``first_row`` on, reduced in row order."""
    decoded = _Decoded(source, prepare, runner.batch_size, first_row)
    if workers > 0:
        batches = iter(DataLoader(decoded, batch_size=None, num_workers=workers, prefetch_factor=2, collate_fn=_as_is))
    else:
        batches = iter(decoded)
    for batch in batches:
        yield Outcome(batch.first_row, batch.rows, runner.reduce(batch, source.classes), batch.failures)
