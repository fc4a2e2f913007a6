"""Module internals: each panel draws the recorded arrays it claims to draw."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from tests.support.render_fixtures import clip_result_3d, make_block
from visualiser.analysis.agreement import squeeze_gate_spearman
from visualiser.errors import VisualiserError
from visualiser.render import internals
from visualiser.render.figures import figure_to_rgb
from visualiser.result import BlockAttention


def _scatter(ax) -> np.ndarray:
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(collections) == 1
    return np.asarray(collections[0].get_offsets())


def _textbook_spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.empty(len(a))
    ra[np.argsort(a)] = np.arange(len(a))
    rb = np.empty(len(b))
    rb[np.argsort(b)] = np.arange(len(b))
    n = len(a)
    return 1 - 6 * float(((ra - rb) ** 2).sum()) / (n * (n * n - 1))


def test_se_internals_plots_squeeze_against_gate_titled_with_their_rank_correlation():
    block = make_block("layer2.1.se", 2, 1, "se", 128, seed=4)
    rho = squeeze_gate_spearman(block)
    assert rho == pytest.approx(_textbook_spearman(block.squeeze, block.channel_gate))
    fig = internals.se_internals(block, rho)
    points = _scatter(fig.axes[0])
    np.testing.assert_allclose(points, np.column_stack([block.squeeze, block.channel_gate]), rtol=1e-6)
    assert fig.axes[0].get_title() == f"Spearman rank correlation {rho:.2f}"
    assert fig.axes[0].get_ylim() == (0.0, 1.0)
    assert figure_to_rgb(fig).ndim == 3


def test_se_internals_says_when_the_rank_correlation_is_undefined():
    flat = BlockAttention(
        "layer1.0.se", 1, 0, "se", 8, squeeze=np.ones(8, np.float32), channel_gate=np.linspace(0, 1, 8).astype("f4")
    )
    assert squeeze_gate_spearman(flat) is None  # a constant squeeze has no ranking
    assert internals.se_internals(flat, None).axes[0].get_title() == "Spearman rank correlation undefined"


def test_cam_branches_plots_both_branches_and_their_sum_against_the_gate():
    block = make_block("layer3.0.se", 3, 0, "cbam", 96, (4, 4), seed=5)
    fig = internals.cam_branches(block)
    left, right = fig.axes[0], fig.axes[1]
    np.testing.assert_allclose(_scatter(left), np.column_stack([block.avg_logits, block.max_logits]), rtol=1e-6)
    summed = _scatter(right)
    np.testing.assert_allclose(summed[:, 0], block.avg_logits + block.max_logits, rtol=1e-6)
    np.testing.assert_allclose(summed[:, 1], block.channel_gate, rtol=1e-6)
    share = float((block.max_logits > block.avg_logits).mean())
    assert f"{100 * share:.0f}%" in left.get_title()


def _images(fig) -> list:
    return [im for ax in fig.axes for im in ax.images]


@pytest.mark.parametrize(("order", "first"), [("max_mean", "max map"), ("mean_max", "mean map")])
def test_sam_internals_shows_maps_logits_gate_and_the_ordered_kernel(order, first):
    base = make_block("layer1.0.se", 1, 0, "cbam", 16, (6, 6), seed=6)
    block = BlockAttention(**{**vars(base), "spatial_order": order})
    fig = internals.sam_internals(block)
    images = _images(fig)
    expected = [
        block.mean_map,
        block.max_map,
        block.spatial_logits,
        block.spatial_gate,
        block.spatial_kernel[0],
        block.spatial_kernel[1],
    ]
    assert len(images) == len(expected)
    for image, array in zip(images, expected, strict=True):
        np.testing.assert_array_equal(image.get_array(), array)
    assert all(im.colorbar is not None for im in images[:4])
    kernel_titles = [im.axes.get_title() for im in images[4:]]
    assert kernel_titles[0] == f"on {first}"
    low, high = images[2].get_clim()
    assert low == -high  # logits on a symmetric scale: white is zero


def test_sam_internals_for_a_3d_block_takes_one_time_slice_and_every_kernel_slice():
    block = clip_result_3d(frames=8, gate_frames=4).blocks[0]
    fig = internals.sam_internals(block, t=1)
    images = _images(fig)
    np.testing.assert_array_equal(images[3].get_array(), block.spatial_gate[1])
    k = block.spatial_kernel.shape[1]
    assert len(images) == 4 + 2 * k
    np.testing.assert_array_equal(images[4 + k].get_array(), block.spatial_kernel[1, 0])
    with pytest.raises(VisualiserError, match="time slice"):
        internals.sam_internals(block, t=9)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_spatial_steps_picture_is_the_figure_pixel_for_pixel_block_after_block(lang):
    from visualiser.render.figures import figure_to_rgb

    flat = [make_block(f"layer{i}.0.se", i, 0, "cbam", 16, (6, 6), seed=10 + i) for i in (1, 2)]  # one kept layout
    three_d = clip_result_3d(frames=8, gate_frames=4).blocks[0]
    for block, t in ((flat[0], None), (three_d, 1), (flat[1], None), (three_d, 2)):
        expected = figure_to_rgb(internals.sam_internals(block, t=t, lang=lang))
        picture = internals.sam_internals_picture(block, t=t, lang=lang)
        assert picture.shape == expected.shape and np.array_equal(picture, expected)  # no earlier block's values
    assert not np.array_equal(internals.sam_internals_picture(flat[0]), internals.sam_internals_picture(flat[1]))


def test_missing_intermediates_are_a_clear_error():
    se = make_block("layer1.0.se", 1, 0, "se", 16)
    with pytest.raises(VisualiserError, match="avg_logits"):
        internals.cam_branches(se)
    with pytest.raises(VisualiserError, match="mean_map"):
        internals.sam_internals(se)
    cbam = make_block("layer1.0.se", 1, 0, "cbam", 16, (4, 4))
    with pytest.raises(VisualiserError, match="squeeze"):
        internals.se_internals(cbam, None)
