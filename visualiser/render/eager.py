"""The eager set: the views every image result gets at once, as (H, W, 3) arrays drawn with numpy and Pillow.

``render_all`` draws the set that applies to a result (tens of ms for a ResNet-50): the bundle and the CLI's
figures write it first, and the benchmark measures it against the forward pass; the Image tab draws the same
renderers (``channels``, ``spatial``) one by one. The detailed matplotlib figures (``channels.channel_bars``,
``internals``, ``reference.reference_figure``) are drawn only for a selected block or view. The Grad-CAM
view's scores are handed in (``pipeline.result_scores(result).agreement``); nothing here computes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from visualiser.render.channels import channel_barcode_image, channel_overview
from visualiser.render.compose import message_image
from visualiser.render.predictions import topk_chart
from visualiser.render.spatial import SCREEN_MIN_SIDE, gradcam_vs_attention, overlay, spatial_grid
from visualiser.render.words import say
from visualiser.result import BlockAttention, ImageResult

if TYPE_CHECKING:
    from visualiser.scores import ImageAgreement, MapAgreement

View = Callable[[ImageResult], np.ndarray]


def no_attention_image(result: ImageResult, lang: str = "en") -> np.ndarray:
    """A picture that says the model has no attention blocks (the plain baseline)."""
    return message_image(say(lang, "no_attention", model=result.model_title))


def _has_channels(result: ImageResult) -> bool:
    return any(b.channel_gate is not None for b in result.blocks)


def _no_channels(result: ImageResult) -> np.ndarray:
    return message_image(say("en", "no_channel_attention", model=result.model_title))


def _overview(result: ImageResult) -> np.ndarray:
    return channel_overview(result) if _has_channels(result) else _no_channels(result)


def _barcode(result: ImageResult) -> np.ndarray:
    return channel_barcode_image(result) if _has_channels(result) else _no_channels(result)


def _spatial_focus(result: ImageResult) -> BlockAttention | None:
    """The focus block when it has a spatial gate (it has whenever any block has one), else None."""
    focus = result.focus_block
    return focus if focus is not None and focus.spatial_gate is not None else None


def _overlay(result: ImageResult) -> np.ndarray:
    focus = _spatial_focus(result)
    if focus is None:
        return message_image(say("en", "no_overlay", model=result.model_title))
    return overlay(result, focus.name, min_side=SCREEN_MIN_SIDE)


def _focus_agreement(result: ImageResult, agreement: ImageAgreement | None) -> MapAgreement | None:
    """The Grad-CAM agreement of the focus block (the deepest spatial one), if it was computed."""
    focus = _spatial_focus(result)
    if agreement is None or focus is None:
        return None
    return agreement.gradcam.get(focus.name)


def _gradcam_view(agreement: ImageAgreement | None) -> View:
    def draw(result: ImageResult) -> np.ndarray:
        focus = _spatial_focus(result)
        if focus is None:
            return message_image(say("en", "no_cam_compare", model=result.model_title))
        scores = _focus_agreement(result, agreement)
        if result.gradcam is not None and scores is None:
            return message_image(say("en", "cam_scores_missing"))
        return gradcam_vs_attention(result, focus.name, scores)

    return draw


def _predictions(result: ImageResult) -> np.ndarray:
    title = say("en", "top_title", model=result.model_title, count=len(result.predictions))
    return topk_chart(result.predictions, title=title)


def eager_views(agreement: ImageAgreement | None = None) -> dict[str, View]:
    """Name → renderer of every eager view; each returns an explanatory picture where it does not apply.

    ``agreement`` (``pipeline.result_scores(result).agreement``) supplies the scores the Grad-CAM view prints.
    ``applicable_views`` lists the views that have something to show for a result.
    """
    return {
        "predictions": _predictions,
        "channel_overview": _overview,
        "channel_barcode": _barcode,
        "spatial_grid": spatial_grid,
        "overlay": _overlay,
        "gradcam_vs_attention": _gradcam_view(agreement),
    }


def applicable_views(result: ImageResult, agreement: ImageAgreement | None = None) -> list[str]:
    """The eager views that have something to show for this result (with these scores)."""
    names = ["predictions"]
    if _has_channels(result):
        names += ["channel_overview", "channel_barcode"]
    if _spatial_focus(result) is not None:
        names += ["spatial_grid", "overlay"]
        if result.gradcam is not None and _focus_agreement(result, agreement) is not None:
            names.append("gradcam_vs_attention")
    return names


def render_all(result: ImageResult, agreement: ImageAgreement | None = None) -> dict[str, np.ndarray]:
    """Every applicable eager view of ``result``, as (H, W, 3) uint8 arrays keyed by view name.

    The Grad-CAM comparison is among them when ``agreement`` holds the focus block's scores.
    """
    views = eager_views(agreement)
    return {name: views[name](result) for name in applicable_views(result, agreement)}
