"""Compare tab: one input through models that differ in their attention module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from visualiser.errors import InputError
from visualiser.handlers.common import ImageInput, Label, predictions_label
from visualiser.handlers.image import image_result, no_attention_image

ATTENTION_ORDER = {"none": 0, "se": 1, "cbam": 2, "eca": 3}


def compare_sets() -> dict[str, list[str]]:
    """One image model per attention kind (none, SE, CBAM, ECA), for the embedded and the ImageNet models.

    Within a kind, models whose weights are already here win, then the Space's default, then ResNet-50s.
    """
    from visualiser.models import defaults
    from visualiser.models.registry import list_specs
    from visualiser.models.weights import weights_available

    def preference(spec: Any) -> tuple:
        return (not weights_available(spec), spec.name != defaults.SPACE_IMAGE_MODEL, "resnet50" not in spec.name)

    groups: dict[str, dict[str, Any]] = {"embedded": {}, "imagenet": {}}
    for spec in list_specs("image"):
        group = groups["embedded" if spec.embedded else "imagenet"]
        best = group.get(spec.attention)
        if best is None or preference(spec) < preference(best):
            group[spec.attention] = spec
    return {
        name: [group[k].name for k in sorted(group, key=lambda k: ATTENTION_ORDER.get(k, 9))]
        for name, group in groups.items()
        if group
    }


@dataclass(frozen=True)
class CompareColumn:
    """One model's predictions and channel overview in the Compare tab."""

    name: str
    title: str
    label: Label
    overview: np.ndarray
    spatial: np.ndarray | None


def compare_models(image: ImageInput | None, group: str) -> list[CompareColumn]:
    """Run one input through every model of the group (same preprocessing per model's spec)."""
    from visualiser.render import channels, spatial

    sets = compare_sets()
    if group not in sets:
        raise InputError(f"unknown model group {group!r}; choose one of {', '.join(sets)}")
    columns = []
    for name in sets[group]:
        result = image_result(image, name)
        overview = channels.channel_overview(result, columns=2) if result.blocks else no_attention_image(result)
        grid = spatial.spatial_grid(result, columns=2) if result.spatial_blocks else None
        columns.append(CompareColumn(name, result.model_title, predictions_label(result.predictions), overview, grid))
    return columns
