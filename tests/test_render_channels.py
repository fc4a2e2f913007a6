"""Channel-attention charts: drawn bars equal the gates, sorting, fixed colour range, labels, the eager arrays."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.image import AxesImage

from tests.support.render_fixtures import make_block, make_image_result, resnet50_like_result
from visualiser.errors import VisualiserError
from visualiser.render import channels
from visualiser.render.colour import lut
from visualiser.render.figures import figure_to_rgb, new_figure
from visualiser.result import BlockAttention


def _bars(fig) -> PolyCollection:
    found = [c for ax in fig.axes for c in ax.collections if c.get_gid() == channels.BARS_GID]
    assert len(found) == 1
    return found[0]


def _heights_and_centres(collection: PolyCollection) -> tuple[np.ndarray, np.ndarray]:
    verts = [p.vertices for p in collection.get_paths()]
    heights = np.array([v[:, 1].max() for v in verts])
    centres = np.array([(v[:, 0].min() + v[:, 0].max()) / 2 for v in verts])
    return heights, centres


def _block_with(gate: np.ndarray, name: str = "layer4.2.se") -> BlockAttention:
    return BlockAttention(name=name, stage=4, block=2, kind="se", channels=gate.shape[0], channel_gate=gate)


def test_bar_heights_equal_gates_in_channel_order_for_2048_channels():
    block = resnet50_like_result("se").blocks[-1]
    assert block.channels == 2048
    fig = channels.channel_bars(block)
    bars = _bars(fig)
    heights, centres = _heights_and_centres(bars)
    assert len(heights) == 2048  # one collection holds every bar
    np.testing.assert_allclose(heights, block.channel_gate, rtol=0, atol=1e-6)
    np.testing.assert_allclose(centres, np.arange(2048), atol=1e-9)
    assert fig.axes[0].get_ylim() == (0.0, 1.0)


def test_sorted_bars_descend_and_hold_the_same_values():
    gate = np.random.default_rng(3).random(300).astype(np.float32)
    fig = channels.channel_bars(_block_with(gate), sort=True)
    heights, _ = _heights_and_centres(_bars(fig))
    assert np.all(np.diff(heights) <= 0)
    np.testing.assert_allclose(np.sort(heights), np.sort(gate), atol=1e-6)


def test_colour_range_is_fixed_to_0_1_with_a_colorbar():
    gate = np.linspace(0.3, 0.6, 64, dtype=np.float32)  # narrow range must not be stretched
    bars = _bars(channels.channel_bars(_block_with(gate)))
    assert bars.get_clim() == (0.0, 1.0)
    assert bars.colorbar is not None
    assert (bars.colorbar.norm.vmin, bars.colorbar.norm.vmax) == (0.0, 1.0)
    np.testing.assert_allclose(bars.get_array(), gate)


def test_top_k_channels_are_labelled_by_index():
    rng = np.random.default_rng(11)
    gate = rng.random(500).astype(np.float32)
    expected = {f"#{i}" for i in np.argsort(-gate)[:5]}
    fig = channels.channel_bars(_block_with(gate), top_k=5)
    labels = {t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("#")}
    assert labels == expected
    sorted_fig = channels.channel_bars(_block_with(gate), sort=True, top_k=5)
    listing = " ".join(t.get_text() for t in sorted_fig.axes[0].texts)
    assert all(label + ":" in listing for label in expected)


def test_title_reports_the_saturation_meter():
    gate = np.concatenate([np.full(25, 0.95), np.full(10, 0.05), np.full(65, 0.5)]).astype(np.float32)
    fig = channels.channel_bars(_block_with(gate))
    title = fig.axes[0].get_title()
    assert ">0.9: 25%" in title and "<0.1: 10%" in title
    assert channels.saturation(gate) == pytest.approx(
        {"mean": float(gate.mean()), "std": float(gate.std()), "above_0_9": 0.25, "below_0_1": 0.10}
    )


def test_draws_on_a_given_axes():
    fig = new_figure(6, 4)
    left, right = fig.subplots(1, 2)
    gate = np.random.default_rng(0).random(32).astype(np.float32)
    returned = channels.channel_bars(_block_with(gate), ax=right)
    assert returned is fig
    assert any(c.get_gid() == channels.BARS_GID for c in right.collections)
    assert not left.collections
    assert figure_to_rgb(fig).shape[2] == 3


@pytest.mark.parametrize("sort", [False, True])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_chart_picture_is_the_figure_pixel_for_pixel_block_after_block(sort, lang):
    rng = np.random.default_rng(5)
    for channels_, seed in ((96, 1), (96, 2), (2048, 3), (96, 4)):  # a kept frame reused, then another
        gate = np.random.default_rng(seed).random(channels_).astype(np.float32) ** rng.uniform(0.5, 3)
        block = _block_with(gate, name=f"layer{seed}.0.se")
        expected = figure_to_rgb(channels.channel_bars(block, sort=sort, lang=lang))
        picture = channels.channel_bars_picture(block, sort=sort, lang=lang)
        assert picture.dtype == np.uint8 and picture.shape == expected.shape
        assert np.array_equal(picture, expected)  # no bar, label or title of an earlier block left behind


def test_the_chart_picture_changes_with_the_gates():
    gate = np.linspace(0.05, 0.95, 64, dtype=np.float32)
    low = channels.channel_bars_picture(_block_with(gate * 0.5))
    high = channels.channel_bars_picture(_block_with(gate))
    assert not np.array_equal(low, high)


def test_block_without_channel_gate_is_a_user_facing_error():
    block = BlockAttention(name="x.se", stage=1, block=0, kind="cbam", channels=0)
    with pytest.raises(VisualiserError, match="no channel gate"):
        channels.channel_bars(block)


def test_channel_columns_bins_by_mean_and_max_or_repeats():
    values = np.random.default_rng(1).random(2048).astype(np.float32)
    mean, high, per_column = channels.channel_columns(values, 256)
    np.testing.assert_allclose(mean, values.reshape(256, 8).mean(1), rtol=1e-6)
    np.testing.assert_allclose(high, values.reshape(256, 8).max(1))
    assert per_column == 8
    small = np.arange(16, dtype=np.float32)
    mean, _, per_column = channels.channel_columns(small, 64)
    np.testing.assert_array_equal(mean, np.repeat(small, 4))
    assert per_column == 0.25


def test_overview_panel_bar_pixels_follow_the_gates():
    cmap = "viridis"
    full = channels.channel_panel(_block_with(np.ones(128, np.float32)), 128, 40, cmap)
    empty = channels.channel_panel(_block_with(np.zeros(128, np.float32)), 128, 40, cmap)
    top = lut(cmap)[255]
    full_count = int(np.all(full == top, axis=-1).sum())
    empty_count = int(np.all(empty == top, axis=-1).sum())
    assert full_count >= 126 * 38  # the whole plot area inside its frame (+ the meter's high share)
    assert empty_count == 0  # no bar and no channel above 0.9


def test_channel_overview_has_one_panel_per_block():
    result = resnet50_like_result("se")
    image = channels.channel_overview(result, columns=4, panel_width=256)
    assert image.dtype == np.uint8 and image.ndim == 3
    assert image.shape[1] == 4 * 256 + 3 * 10


def test_barcode_rows_have_the_colour_of_their_gate():
    values = (0.0, 0.5, 1.0)
    blocks = tuple(
        BlockAttention(f"layer{i + 1}.0.se", i + 1, 0, "se", c, channel_gate=np.full(c, v, np.float32))
        for i, (v, c) in enumerate(zip(values, (64, 512, 2048), strict=True))
    )
    result = make_image_result(blocks)
    np.testing.assert_allclose(channels.barcode_matrix(result.blocks, 256), np.array(values)[:, None].repeat(256, 1))
    image = channels.channel_barcode_image(result, width=256, row_height=14)
    table = lut("viridis")
    for v in values:
        colour = table[round(v * 255)]
        assert int(np.all(image == colour, axis=-1).sum()) >= 256 * 2 * 14


def test_barcode_figure_shows_the_matrix_on_a_fixed_range():
    result = resnet50_like_result("se")
    fig = channels.channel_barcode(result, width=128)
    image = next(a for a in fig.axes[0].get_children() if isinstance(a, AxesImage))
    np.testing.assert_allclose(image.get_array(), channels.barcode_matrix(result.blocks, 128))
    assert image.get_clim() == (0.0, 1.0)
    assert "128 columns" in fig.axes[0].get_xlabel()


def test_mixed_blocks_are_all_drawn():
    blocks = (make_block("layer1.0.se", 1, 0, "se", 16), make_block("layer2.0.se", 2, 0, "cbam", 32, (4, 4)))
    image = channels.channel_overview(make_image_result(blocks), columns=2, panel_width=100)
    assert image.shape[1] == 2 * 100 + 10
