"""Attention over a whole dataset: one streaming job from a labelled folder to the SE paper's Fig. 6 and beyond.

``dataset_statistics(model, source, out)`` lists the source once (``sources``), decodes it in parallel
(``decode``), runs the app's recorded forward at a fixed batch size (``runner``), reduces every batch to
per-class sums (``sums``: counts, float64 sums and sums of squares of every channel's gate, saturation counts,
pointing-game hits; no input's gates are kept) and merges them in row order, on this machine (``local``) or a
Ray cluster (``ray_engine``), with progress, a checkpoint to resume from (``job``) and the outputs (``report``):
the Fig. 6 ``.stats.npz`` the app reads, a JSON / CSV report and figures. ``python -m visualiser stats`` is its
command line (``command``).

The names below are imported on first use (PEP 562), so the command line can build its parser from
``command`` without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "DatasetRun": "visualiser.dataset.records",
    "dataset_statistics": "visualiser.dataset.job",
    "GateSums": "visualiser.dataset.sums",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
