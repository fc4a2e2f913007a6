"""Compare tab: one input through models that differ in their attention module."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visualiser import catalogue
from visualiser.errors import InputError
from visualiser.types import ImageSource
from visualiser.ui.views.image import image_result
from visualiser.ui.views.text import Label, predictions_label


@dataclass(frozen=True)
class CompareColumn:
    """One model's predictions and channel overview in the Compare tab."""

    name: str
    title: str
    label: Label
    overview: np.ndarray
    spatial: np.ndarray | None


def compare_models(image: ImageSource | None, group: str) -> list[CompareColumn]:
    """Run one input through every model of the group (same preprocessing per model's spec)."""
    from visualiser.render import channels, spatial
    from visualiser.render.eager import no_attention_image

    sets = catalogue.compare_sets()
    if group not in sets:
        raise InputError(f"unknown model group {group!r}; choose one of {', '.join(sets)}")
    columns = []
    for name in sets[group]:
        result = image_result(image, name)
        overview = channels.channel_overview(result, columns=2) if result.blocks else no_attention_image(result)
        grid = spatial.spatial_grid(result, columns=2) if result.spatial_blocks else None
        columns.append(CompareColumn(name, result.model_title, predictions_label(result.predictions), overview, grid))
    return columns


def compare_arrival(group: str) -> tuple[str | None, list[CompareColumn]]:
    """The tab on arrival: the first shipped example through the group's models (computed once per process)."""
    from visualiser.ui.views.arrival import first_example, once

    path = first_example("image")
    columns = once(f"compare:{group}", lambda: compare_models(str(path), group)) if path is not None else None
    return (str(path) if path is not None else None), columns or []
