"""What the views accept from controls, checked at the edge: colour maps, normalisations, alpha, presence."""

from __future__ import annotations

from visualiser.errors import InputError
from visualiser.render.options import COLORMAPS, NORMALISATIONS, Normalise


def require(value: object, what: str) -> None:
    """Refuse an empty input or a missing result with "please <what> first"."""
    if value is None or (isinstance(value, str) and not value):
        raise InputError(f"please {what} first")


def check_cmap(cmap: str) -> str:
    if cmap not in COLORMAPS:
        raise InputError(f"unknown colour map {cmap!r}; choose one of {', '.join(COLORMAPS)}")
    return cmap


def check_normalise(normalise: str) -> Normalise:
    if normalise not in NORMALISATIONS:
        raise InputError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, not {normalise!r}")
    return normalise  # type: ignore[return-value]  (checked just above)


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}")
    return alpha
