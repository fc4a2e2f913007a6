"""matplotlib ``Figure`` objects on an Agg canvas (never pyplot): the detailed views rendered on demand."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float, dpi: int = 100, layout: str | None = "constrained") -> Figure:
    """A ``Figure`` with an Agg canvas attached, no pyplot state involved (constrained layout by default)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def message_figure(text: str, width: float = 7.0, height: float = 1.4) -> Figure:
    """A figure that says why a plot is empty (what a figure slot shows instead of nothing)."""
    fig = new_figure(width, height)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    return fig


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Render a Figure to an ``(H, W, 3)`` uint8 array."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
