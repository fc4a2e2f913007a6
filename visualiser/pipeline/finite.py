"""No NaN or infinity is ever drawn: a forward pass that produced one is refused with a sentence.

Weights are checked when they are read (``models.checkpoints``), but finite weights can still overflow float32
on some input (a logit of 1e39 is infinite; softmax of it is NaN). A chart of NaN gates is not what the network
computed in any useful sense, and the renderers would fail on it, so the result is never built: the caller
gets one sentence (the UI a message, the CLI ``error:`` and status 2, the API an error instead of ``null``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from visualiser.analysis import ForwardRecord
from visualiser.errors import WeightsError
from visualiser.result import BlockAttention


def require_finite(record: ForwardRecord, title: str) -> None:
    """Raise WeightsError naming where ``record`` (output, gates, Grad-CAM) holds NaN or infinity."""
    where = _first_non_finite(record)
    if where is not None:
        raise WeightsError(
            f"{title} computed NaN or infinite values for this input ({where}): its weights overflow float32 "
            "here, so there is nothing meaningful to draw"
        )


def _first_non_finite(record: ForwardRecord) -> str | None:
    if not np.isfinite(record.probabilities).all():
        return "in its output"
    for blocks in record.blocks:
        for block in blocks:
            if not _finite(block):
                return f"in the gates of {block.name}"
    if record.gradcam is not None and not np.isfinite(record.gradcam).all():
        return "in its Grad-CAM"
    return None


def _finite(block: BlockAttention) -> bool:
    for f in dataclasses.fields(block):
        value = getattr(block, f.name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.isfinite(value).all():
            return False
    return True
