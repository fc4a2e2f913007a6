"""matplotlib ``Figure`` objects on an Agg canvas (never pyplot): the detailed views rendered on demand.

Chinese figure text is drawn through matplotlib's per-glyph font fallback: the CJK face found by
``render.text.cjk_font_path`` is registered once and put after DejaVu Sans in the sans-serif list.
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from visualiser.render.text import cjk_font_path


@lru_cache(maxsize=1)
def _cjk_family() -> str | None:
    """Register the CJK face (if any) with matplotlib and make it the fallback after DejaVu Sans, once."""
    path = cjk_font_path()
    if path is None:
        return None
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    # per-glyph fallback works over the families listed here (not over a generic family's own list)
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", name]
    return name


def monospace_families() -> list[str]:
    """A monospace face for tables of numbers in a figure, with the CJK face after it for Chinese words."""
    cjk = _cjk_family()
    return ["DejaVu Sans Mono", cjk] if cjk else ["monospace"]


def new_figure(width: float, height: float, dpi: int = 100, layout: str | None = "constrained") -> Figure:
    """A ``Figure`` with an Agg canvas attached, no pyplot state involved (constrained layout by default)."""
    _cjk_family()
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
