"""Probabilities → ranked, labelled predictions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visualiser.result import Prediction


def top_predictions(probabilities: np.ndarray, labels: Sequence[str], k: int) -> tuple[Prediction, ...]:
    """The ``k`` most probable classes, highest first (a class without a name is called by its index)."""
    k = max(1, min(k, probabilities.shape[0]))
    order = np.argsort(-probabilities, kind="stable")[:k]
    return tuple(Prediction(int(i), labels[i] if i < len(labels) else str(i), float(probabilities[i])) for i in order)
