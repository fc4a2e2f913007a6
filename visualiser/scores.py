"""Frozen score records: what the analysis measured about a result, handed to the renderers to draw.

Like ``result.py`` they hold plain values and read-only arrays only; ``visualiser.analysis.agreement`` and
``visualiser.analysis.stability`` compute them, ``visualiser.render`` draws them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

TOP_FRACTION = 0.2  # share of cells that counts as a map's "top region"


@dataclass(frozen=True)
class MapAgreement:
    """Agreement of two 2-D maps over the same crop.

    Attributes:
        spearman: rank correlation in [−1, 1]; None when a map is constant (undefined there).
        iou_top: intersection over union of the two top-``top_fraction`` regions, in [0, 1].
        top_fraction: the share of cells in each top region.
        resolution: (h, w) of the common grid the maps were compared on.
    """

    spearman: float | None
    iou_top: float
    top_fraction: float
    resolution: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        """The scores as the bundle manifest and the API write them."""
        return {
            "spearman": self.spearman,
            "iou_top": self.iou_top,
            "top_fraction": self.top_fraction,
            "resolution": list(self.resolution),
        }


@dataclass(frozen=True)
class ImageAgreement:
    """Every agreement score the image views print, computed once from a frozen result.

    Attributes:
        gradcam: block name → Grad-CAM against that block's 2-D spatial gate (empty without Grad-CAM).
        squeeze_gate: block name → Spearman of squeeze against gate, for blocks that recorded a squeeze
            (None where one of them is constant).
    """

    gradcam: Mapping[str, MapAgreement] = field(default_factory=dict)
    squeeze_gate: Mapping[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gradcam", MappingProxyType(dict(self.gradcam)))
        object.__setattr__(self, "squeeze_gate", MappingProxyType(dict(self.squeeze_gate)))

    def to_json(self) -> dict[str, dict[str, Any]]:
        """Grad-CAM agreement per block, as the bundle manifest writes it."""
        return {name: scores.to_json() for name, scores in self.gradcam.items()}


@dataclass(frozen=True)
class StabilityScores:
    """Frame-to-frame scores per block, NaN where a map is constant.

    Attributes:
        channel_cosine: block name → (T−1,) cosine similarity of consecutive frames' channel gates
            (image models only).
        spatial_correlation: block name → Pearson correlation of consecutive spatial gates: (T−1,) over
            frames for image models, (T'−1,) over the gate's time slices for 3-D models.
        over_time_slices: True when the pairs are time slices of one 3-D gate rather than frames.
    """

    channel_cosine: Mapping[str, np.ndarray]
    spatial_correlation: Mapping[str, np.ndarray]
    over_time_slices: bool = False

    def __post_init__(self) -> None:
        for name in ("channel_cosine", "spatial_correlation"):
            frozen = {}
            for block, values in getattr(self, name).items():
                array = np.array(values, dtype=np.float64)
                array.setflags(write=False)
                frozen[block] = array
            object.__setattr__(self, name, MappingProxyType(frozen))

    @property
    def is_empty(self) -> bool:
        """True when no block has a single pair to compare (one frame, or a 3-D model without spatial gates)."""
        return not any(len(v) for v in (*self.channel_cosine.values(), *self.spatial_correlation.values()))
