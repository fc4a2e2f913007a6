"""Compare tab: one input through models that differ in their attention module, one column per model.

Columns are computed one after another (``compare_column``), so the tab can show each as it arrives; a model
that cannot run (its weights are not here) fills its own column with the reason instead of failing the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visualiser import catalogue
from visualiser.errors import InputError, VisualiserError
from visualiser.types import ImageSource
from visualiser.ui.views.arrival import first_example, once
from visualiser.ui.views.errors import UserMessage, user_message
from visualiser.ui.views.heavy import channels, spatial
from visualiser.ui.views.image import image_result, outside_notice
from visualiser.ui.views.phrases import say
from visualiser.ui.views.text import Label, model_title, predictions_label


@dataclass(frozen=True)
class CompareColumn:
    """One model's predictions, channel overview and spatial grid (or why it could not run)."""

    name: str
    title: str
    label: Label | None
    overview: np.ndarray | None
    spatial: np.ndarray | None
    notice: str = ""  # the input is outside what this network learned
    failure: UserMessage | None = None
    overview_note: str = ""  # why there is no overview (no attention)
    spatial_note: str = ""  # why there is no spatial grid


def compare_names(group: str) -> list[str]:
    """The models of one group (an unknown group is refused with the list)."""
    sets = catalogue.compare_sets()
    if group not in sets:
        raise InputError(f"unknown model group {group!r}; choose one of {', '.join(sets)}")
    return sets[group]


def compare_column(image: ImageSource | None, name: str, lang: str = "en") -> CompareColumn:
    """One model's column; a model that cannot run gives a column that says why (the input is checked first)."""

    try:
        result = image_result(image, name)
    except VisualiserError as error:
        if isinstance(error, InputError):
            raise  # the input itself is unusable: no column can help, the tab says so once
        return CompareColumn(name, model_title(name), None, None, None, failure=user_message(error, lang))
    title = result.model_title
    if result.blocks and any(b.channel_gate is not None for b in result.blocks):
        overview, overview_note = channels.channel_overview(result, columns=2, lang=lang), ""
    else:
        overview, overview_note = None, say(lang, "no_attention", model=title)
    grid, spatial_note = None, ""
    if result.spatial_blocks:
        grid = spatial.spatial_grid(result, columns=2, lang=lang)
    elif result.blocks:
        spatial_note = say(lang, "no_spatial", model=title, kinds=spatial.blocks_kinds(result).upper())
    return CompareColumn(
        name, title, predictions_label(result.predictions), overview, grid, outside_notice(result, lang),
        overview_note=overview_note, spatial_note=spatial_note,
    )  # fmt: skip


def compare_models(image: ImageSource | None, group: str, lang: str = "en") -> list[CompareColumn]:
    """Run one input through every model of the group (same preprocessing per model's spec)."""
    return [compare_column(image, name, lang) for name in compare_names(group)]


def compare_arrival(group: str) -> tuple[str | None, list[CompareColumn]]:
    """The tab on arrival: the first shipped example through the group's models (computed once per process)."""

    path = first_example("image")
    columns = once(f"compare:{group}", lambda: compare_models(str(path), group)) if path is not None else None
    return (str(path) if path is not None else None), columns or []
