"""The eager set: which views a result gets, that each is a picture, and that the scores come from outside."""

from __future__ import annotations

import numpy as np

from tests.support.render_fixtures import make_image_result, resnet50_like_result
from visualiser.analysis.agreement import ImageAgreement, MapAgreement, image_agreement
from visualiser.render import eager_views, render_all
from visualiser.render.compose import message_image
from visualiser.render.eager import applicable_views, no_attention_image
from visualiser.render.spatial import gradcam_vs_attention
from visualiser.result import BlockAttention


def test_render_all_returns_every_applicable_view_as_rgb_arrays():
    result = resnet50_like_result("cbam", gradcam=True)
    cbam = render_all(result, image_agreement(result))
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


def test_the_gradcam_view_draws_the_focus_blocks_scores_and_only_when_given():
    result = resnet50_like_result("cbam", gradcam=True)
    assert "gradcam_vs_attention" not in applicable_views(result)  # no scores handed in: not drawn
    focus = result.focus_block.name
    scores = MapAgreement(spearman=0.5, iou_top=0.25, top_fraction=0.2, resolution=(7, 7))
    drawn = render_all(result, ImageAgreement(gradcam={focus: scores}))["gradcam_vs_attention"]
    np.testing.assert_array_equal(drawn, gradcam_vs_attention(result, focus, scores))
    other_block = ImageAgreement(gradcam={result.blocks[0].name: scores})
    missing = eager_views(other_block)["gradcam_vs_attention"](result)
    np.testing.assert_array_equal(
        missing, message_image("The agreement of Grad-CAM and the spatial gate was not computed for this result.")
    )


def test_every_eager_view_answers_every_result_with_a_picture():
    plain = make_image_result(())  # a baseline without attention
    gate_only = make_image_result((BlockAttention("layer1.0.se", 1, 0, "cbam", 0, spatial_gate=np.ones((3, 3))),))
    for result in (plain, gate_only, resnet50_like_result("se", gradcam=False)):
        for name, view in eager_views().items():
            image = view(result)
            assert image.dtype == np.uint8 and image.ndim == 3, name


def test_a_model_without_attention_blocks_gets_a_picture_that_says_so():
    plain = make_image_result(())
    image = no_attention_image(plain)
    expected = message_image("Synthetic test net has no attention blocks: it is the baseline without attention.")
    np.testing.assert_array_equal(image, expected)
    assert not np.array_equal(image, message_image("Synthetic test net has no channel attention to show."))
    assert applicable_views(plain) == ["predictions"]
