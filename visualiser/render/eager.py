"""The eager set: every view the image page shows at once, as arrays, drawn right after the forward pass.

Users wait on these, so they are numpy/Pillow drawings (tens of ms together for a ResNet-50, see
``render_all``); the detailed per-block matplotlib figures (``channel_bars``, ``internals``,
``reference_figure``, ``overlay_figure``) are rendered only when a block or view is selected.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from visualiser.render._common import message_image
from visualiser.render.channels import channel_barcode_image, channel_overview
from visualiser.render.predictions import topk_chart
from visualiser.render.spatial import SCREEN_MIN_SIDE, gradcam_vs_attention, overlay, spatial_grid
from visualiser.result import ImageResult

View = Callable[[ImageResult], np.ndarray]


def _has_channels(result: ImageResult) -> bool:
    return any(b.channel_gate is not None for b in result.blocks)


def _no_channels(result: ImageResult) -> np.ndarray:
    return message_image(f"{result.model_title} has no channel attention to show.")


def _overview(result: ImageResult) -> np.ndarray:
    return channel_overview(result) if _has_channels(result) else _no_channels(result)


def _barcode(result: ImageResult) -> np.ndarray:
    return channel_barcode_image(result) if _has_channels(result) else _no_channels(result)


def _overlay(result: ImageResult) -> np.ndarray:
    if not result.spatial_blocks:
        return message_image(f"{result.model_title} has no spatial attention: nothing to overlay.")
    return overlay(result, result.spatial_blocks[-1].name, min_side=SCREEN_MIN_SIDE)


def _gradcam(result: ImageResult) -> np.ndarray:
    if not result.spatial_blocks:
        return message_image(f"{result.model_title} has no spatial attention to compare Grad-CAM with.")
    return gradcam_vs_attention(result, result.spatial_blocks[-1].name)[0]


def _predictions(result: ImageResult) -> np.ndarray:
    return topk_chart(result.predictions, title=f"{result.model_title}: top {len(result.predictions)}")


def eager_views() -> dict[str, View]:
    """Name → renderer of every eager view; each returns an explanatory picture where it does not apply.

    ``applicable_views`` lists the views that have something to show for a given result.
    """
    return {
        "predictions": _predictions,
        "channel_overview": _overview,
        "channel_barcode": _barcode,
        "spatial_grid": spatial_grid,
        "overlay": _overlay,
        "gradcam_vs_attention": _gradcam,
    }


def applicable_views(result: ImageResult) -> list[str]:
    """The eager views that have something to show for this result."""
    names = ["predictions"]
    if _has_channels(result):
        names += ["channel_overview", "channel_barcode"]
    if result.spatial_blocks:
        names += ["spatial_grid", "overlay"]
        if result.gradcam is not None:
            names.append("gradcam_vs_attention")
    return names


def render_all(result: ImageResult) -> dict[str, np.ndarray]:
    """Every applicable eager view of ``result``, as (H, W, 3) uint8 arrays keyed by view name."""
    views = eager_views()
    return {name: views[name](result) for name in applicable_views(result)}
