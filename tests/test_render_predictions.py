"""Top-k chart: bars proportional to the probabilities, in the given order, labels kept inside the image."""

from __future__ import annotations

import numpy as np

from visualiser.render.predictions import BAR_COLOUR, topk_chart
from visualiser.result import Prediction


def _bar_lengths(image: np.ndarray) -> list[int]:
    """Length of the bar-coloured run on each row that has one, top to bottom (one value per bar)."""
    coloured = np.all(image == np.array(BAR_COLOUR, np.uint8), axis=-1)
    lengths, previous = [], 0
    for row in coloured:
        count = int(row.sum())
        if count and not previous:
            lengths.append(count)
        previous = count
    return lengths


def test_bar_lengths_are_proportional_to_probabilities_in_order():
    predictions = [Prediction(3, "tabby cat", 0.6), Prediction(1, "tiger cat", 0.3), Prediction(7, "lynx", 0.1)]
    image = topk_chart(predictions, width=500)
    assert image.dtype == np.uint8 and image.shape[1] == 500
    lengths = _bar_lengths(image)
    assert len(lengths) == 3
    full = lengths[0] / 0.6
    for length, p in zip(lengths, (0.6, 0.3, 0.1), strict=True):
        assert abs(length - p * full) <= 2


def test_long_labels_and_zero_probabilities_fit():
    predictions = [Prediction(0, "a very long class name " * 6, 1.0), Prediction(1, "none", 0.0)]
    image = topk_chart(predictions, width=300, title="Model")
    assert image.shape[1] == 300
    assert len(_bar_lengths(image)) == 1  # a zero probability draws no bar


def test_no_predictions_still_draws():
    assert topk_chart([]).ndim == 3
