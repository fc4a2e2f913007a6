"""The one palette: named greys, colour-map lookup tables, the diverging map, honest value ranges.

Sequential maps come from matplotlib by name (imported on first use). The diverging map, ColorBrewer
RdBu reversed (negative blue, white zero, positive red; safe under the common colour-vision
deficiencies), is also written out here as its 11 anchors, so that the 3D-convolution animation
can colour cells without importing matplotlib (~0.2 s per cold render); the tests check that the
table equals matplotlib's ``"RdBu_r"``, which the matplotlib figures use by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from visualiser.render.options import DEFAULT_CMAP, Normalise

BACKGROUND = (255, 255, 255)
TEXT = (25, 25, 25)
MUTED = (110, 110, 110)  # secondary text, outlines, dividers
MESSAGE_BACKGROUND = (245, 245, 245)  # panels that explain why a view is empty

DIVERGING_CMAP = "RdBu_r"  # for matplotlib figures; the same map as ``diverging_lut``
# ColorBrewer RdBu, 11 classes, from negative (dark blue) to positive (dark red).
_RDBU_REVERSED = (
    "053061",
    "2166ac",
    "4393c3",
    "92c5de",
    "d1e5f0",
    "f7f7f7",
    "fddbc7",
    "f4a582",
    "d6604d",
    "b2182b",
    "67001f",
)
# Okabe and Ito's "Color Universal Design" palette (black swapped for grey): categorical colours that stay
# distinguishable under the common colour-vision deficiencies.
CATEGORICAL = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


@lru_cache(maxsize=32)
def lut(cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """``(256, 3)`` uint8 lookup table of a matplotlib colormap (raises ValueError for unknown names)."""
    from matplotlib import colormaps  # matplotlib loads at the first colour map, not while the page is built

    try:
        cm = colormaps[cmap]
    except KeyError as exc:
        raise ValueError(f"unknown colormap {cmap!r}") from exc
    table = np.round(cm(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)
    table.setflags(write=False)
    return table


@lru_cache(maxsize=1)
def diverging_lut() -> np.ndarray:
    """``(256, 3)`` uint8 table of :data:`DIVERGING_CMAP`, interpolated from its anchors without matplotlib."""
    anchors = np.array([[int(code[i : i + 2], 16) for i in (0, 2, 4)] for code in _RDBU_REVERSED], np.float64)
    positions = np.linspace(0.0, 1.0, len(anchors))
    samples = np.linspace(0.0, 1.0, 256)
    channels = [np.interp(samples, positions, anchors[:, c]) for c in range(3)]
    table = np.round(np.stack(channels, axis=1)).astype(np.uint8)
    table.setflags(write=False)
    return table


def scale01(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Values mapped linearly so that ``lo`` → 0 and ``hi`` → 1, clipped; a flat range maps to 0.5."""
    span = hi - lo
    if not np.isfinite(span) or span <= 1e-12:
        return np.full(np.shape(values), 0.5, dtype=np.float32)
    return np.clip((np.asarray(values, dtype=np.float32) - lo) / span, 0.0, 1.0)


def colourise(values: np.ndarray, lo: float, hi: float, cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """``(..., 3)`` uint8 colours of ``values`` on the range [lo, hi]."""
    index = (scale01(values, lo, hi) * 255 + 0.5).astype(np.uint8)
    return lut(cmap)[index]


def colourise_signed(values: np.ndarray, limit: float) -> np.ndarray:
    """``(..., 3)`` uint8 diverging colours of values on [−limit, limit]: white is exactly zero."""
    scaled = np.clip((np.asarray(values, np.float64) / limit + 1.0) * 0.5, 0.0, 1.0)
    return diverging_lut()[np.round(scaled * 255).astype(np.int64)]


def symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the arrays, or 1 when they are all zero: the range that keeps zero in the middle."""
    limit = max(float(np.max(np.abs(a))) for a in arrays)
    return limit if limit > 0 else 1.0


def value_range(maps: Sequence[np.ndarray], how: Normalise, own: np.ndarray) -> tuple[float, float]:
    """The colour range for ``own``: its own min/max, the min/max over ``maps``, or the gate's [0, 1]."""
    if how == "fixed01":
        return 0.0, 1.0
    if how == "shared":
        if not maps:
            raise ValueError("shared normalisation needs at least one map")
        return float(min(m.min() for m in maps)), float(max(m.max() for m in maps))
    if how == "block":
        return float(own.min()), float(own.max())
    raise ValueError(f"normalise must be 'block', 'shared' or 'fixed01', not {how!r}")


def as_rgb(colour: np.ndarray | Sequence[int]) -> tuple[int, int, int]:
    """A numpy colour as the plain tuple Pillow wants."""
    return int(colour[0]), int(colour[1]), int(colour[2])
