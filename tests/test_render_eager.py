"""The eager set: which views a result gets, their types, and the time they take for a ResNet-50."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.support.render_fixtures import resnet50_like_result
from visualiser.render import eager_views, render_all


def test_render_all_returns_every_applicable_view_as_rgb_arrays():
    cbam = render_all(resnet50_like_result("cbam", gradcam=True))
    assert set(cbam) == {
        "predictions",
        "channel_overview",
        "channel_barcode",
        "spatial_grid",
        "overlay",
        "gradcam_vs_attention",
    }
    se = render_all(resnet50_like_result("se", gradcam=True))
    assert set(se) == {"predictions", "channel_overview", "channel_barcode"}
    for image in [*cbam.values(), *se.values()]:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert set(cbam) <= set(eager_views())


@pytest.mark.slow
def test_eager_views_of_a_resnet50_take_well_under_a_forward_pass():
    """Budget: forward + every eager view ≤ 3× forward (~0.2–0.4 s), so the views must stay far below 0.4 s."""
    result = resnet50_like_result("cbam", gradcam=True)
    render_all(result)  # warm caches (colormaps, glyphs)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        render_all(result)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.4, f"render_all took {min(times):.3f} s"


def test_every_eager_view_answers_every_result_with_a_picture():
    from tests.support.render_fixtures import make_image_result
    from visualiser.result import BlockAttention

    plain = make_image_result(())  # a baseline without attention
    gate_only = make_image_result((BlockAttention("layer1.0.se", 1, 0, "cbam", 0, spatial_gate=np.ones((3, 3))),))
    for result in (plain, gate_only, resnet50_like_result("se", gradcam=False)):
        for name, view in eager_views().items():
            image = view(result)
            assert image.dtype == np.uint8 and image.ndim == 3, name
