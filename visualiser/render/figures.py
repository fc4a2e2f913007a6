"""matplotlib ``Figure`` objects on an Agg canvas (never pyplot): the detailed views rendered on demand."""

from __future__ import annotations

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
