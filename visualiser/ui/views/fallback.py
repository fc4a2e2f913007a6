"""A view that a result cannot have still says why: the sentence goes into the picture or figure slot."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from visualiser.errors import VisualiserError
from visualiser.ui.views.heavy import compose, figures

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def picture_or_message(make: Callable[[], np.ndarray]) -> np.ndarray:
    """The picture, or a picture of the ``VisualiserError`` sentence explaining its absence."""

    try:
        return make()
    except VisualiserError as err:
        return compose.message_image(err.message)


def figure_or_message(make: Callable[[], Figure]) -> Figure:
    """The figure, or a figure holding the ``VisualiserError`` sentence explaining its absence."""

    try:
        return make()
    except VisualiserError as err:
        return figures.message_figure(err.message)
