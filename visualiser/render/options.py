"""The drawing options a user may choose, in one place (front ends offer exactly these)."""

from __future__ import annotations

from typing import Literal

Normalise = Literal["block", "shared", "fixed01"]
NORMALISATIONS: tuple[Normalise, ...] = ("block", "shared", "fixed01")
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "turbo", "gray")
DEFAULT_CMAP = "viridis"  # perceptually uniform and colour-blind safe (idea 11: honest colour)
