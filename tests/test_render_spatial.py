"""Spatial heatmaps sit on the pixels they came from; honest ranges; the Grad-CAM comparison prints its scores."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.render_fixtures import make_block, make_image_result, resnet50_like_result, small_result
from visualiser.analysis.agreement import MapAgreement, map_agreement
from visualiser.errors import VisualiserError
from visualiser.render import canvas_map, spatial
from visualiser.render.colour import MESSAGE_BACKGROUND, lut
from visualiser.render.compose import caption
from visualiser.result import BlockAttention, CropGeometry, ImageResult

# Original 200×100, resized ×2 to 400×200, crop (220, 40)-(380, 200): in the original (110, 20)-(190, 100),
# i.e. off-centre, touching the bottom edge. A 4×4 gate has 20×20-pixel cells there.
OFF_CENTRE = CropGeometry((200, 100), (400, 200), (220, 40, 380, 200))
HOT = (1, 2)  # gate row, column
HOT_CELL_X = (110 + 2 * 20, 110 + 3 * 20)
HOT_CELL_Y = (20 + 1 * 20, 20 + 2 * 20)


def _one_hot_result(original: np.ndarray | None = None, gates: tuple[np.ndarray, ...] | None = None) -> ImageResult:
    if gates is None:
        gate = np.zeros((4, 4), np.float32)
        gate[HOT] = 1.0
        gates = (gate,)
    blocks = tuple(
        BlockAttention(
            f"layer{i + 1}.0.se", i + 1, 0, "cbam", 8, channel_gate=np.full(8, 0.5, np.float32), spatial_gate=g
        )
        for i, g in enumerate(gates)
    )
    result = make_image_result(blocks, OFF_CENTRE)
    if original is not None:
        result = ImageResult(**{**vars(result), "original_image": original})
    return result


def _on_original(gate: np.ndarray, geometry: CropGeometry) -> tuple[np.ndarray, np.ndarray]:
    """The gate mapped onto the whole original image, as the overlay maps it onto the crop's pixels."""
    size = geometry.original_size
    return canvas_map.map_onto_canvas(gate, canvas_map.crop_box_on(geometry, size), size)


def test_gate_on_original_covers_exactly_the_crop_and_peaks_in_the_hot_cell():
    gate = np.zeros((4, 4), np.float32)
    gate[HOT] = 1.0
    values, inside = _on_original(gate, OFF_CENTRE)
    assert values.shape == inside.shape == (100, 200)
    ys, xs = np.nonzero(inside)
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (110, 190, 20, 100)
    y, x = np.unravel_index(np.argmax(np.where(inside, values, -1)), values.shape)
    assert HOT_CELL_X[0] <= x < HOT_CELL_X[1] and HOT_CELL_Y[0] <= y < HOT_CELL_Y[1]


def test_hottest_overlay_pixel_lies_where_the_gate_is_largest():
    black = np.zeros((100, 200, 3), np.uint8)
    image = spatial.overlay(_one_hot_result(black), "layer1.0.se", alpha=1.0, with_colorbar=False)
    assert image.shape == (100, 200, 3)
    table = lut("viridis")
    index_of = {tuple(int(v) for v in c): i for i, c in enumerate(table)}  # viridis colours are distinct
    indices = np.array([[index_of.get(tuple(int(v) for v in px), -1) for px in row] for row in image])
    assert indices.max() > 200  # bilinear: the peak sits between pixel centres, just under the top colour
    ys, xs = np.nonzero(indices == indices.max())
    assert np.all((xs >= HOT_CELL_X[0]) & (xs < HOT_CELL_X[1]))
    assert np.all((ys >= HOT_CELL_Y[0]) & (ys < HOT_CELL_Y[1]))


def test_outside_the_crop_is_dimmed_and_rgb_order_is_kept():
    red = np.zeros((100, 200, 3), np.uint8)
    red[..., 0] = 255
    image = spatial.overlay(_one_hot_result(red), "layer1.0.se", alpha=0.5, with_colorbar=False)
    outside = image[5, 5]  # far left of the crop
    assert outside[0] < 255 * 0.5 and outside[0] > outside[1] and outside[0] > outside[2]  # still red, darker
    inside = image[60, 120]  # inside the crop: half red, half colormap
    assert inside[0] >= 255 // 2


def test_colorbar_strip_is_added_below_the_image():
    result = _one_hot_result(np.zeros((100, 200, 3), np.uint8))
    plain = spatial.overlay(result, "layer1.0.se", with_colorbar=False)
    with_bar = spatial.overlay(result, "layer1.0.se")
    assert with_bar.shape[1] == plain.shape[1] and with_bar.shape[0] > plain.shape[0]
    np.testing.assert_array_equal(with_bar[: plain.shape[0]], plain)


@pytest.mark.parametrize(
    "label", ["colours span this block's min..max over the whole clip", "颜色覆盖该模块在整个片段上的最小..最大值"]
)
def test_a_colorbar_label_wider_than_a_narrow_frame_wraps_instead_of_being_cut(label):
    """A clip's frame is narrow: its colour note used to run off the right edge ("over the whole c")."""
    from visualiser.render.colour import BACKGROUND
    from visualiser.render.compose import colorbar_strip

    wide = colorbar_strip(900, 0.1, 0.9, label)
    narrow = colorbar_strip(160, 0.1, 0.9, label)
    assert narrow.shape[0] > wide.shape[0]  # more lines, not a cut one
    below_ticks = narrow[40:]
    right_margin = below_ticks[:, -6:]
    assert (right_margin == np.array(BACKGROUND, np.uint8)).all()  # nothing reaches the edge
    assert (below_ticks != np.array(BACKGROUND, np.uint8)).any(axis=2).sum() > 50  # and the note is drawn


def test_normalisations_use_the_block_the_shared_or_the_fixed_range():
    low = np.full((4, 4), 0.2, np.float32)
    low[0, 0] = 0.0
    high = np.full((4, 4), 0.8, np.float32)
    high[3, 3] = 1.0
    black = np.zeros((100, 200, 3), np.uint8)
    result = _one_hot_result(black, (low, high))
    table = lut("viridis")

    def colour_at(block: str, how: str, y: int, x: int) -> np.ndarray:
        image = spatial.overlay(result, block, alpha=1.0, normalise=how, with_colorbar=False)
        return image[y, x]

    centre_of_last_cell = (20 + 70, 110 + 70)  # cell (3, 3)
    # block: the block's own max gets the top colour; shared: 1.0 is the max over both blocks too
    np.testing.assert_array_equal(colour_at("layer2.0.se", "block", *centre_of_last_cell), table[255])
    np.testing.assert_array_equal(colour_at("layer2.0.se", "shared", *centre_of_last_cell), table[255])
    # the low block's 0.2 plateau: top colour under its own range? no: its own range is 0..0.2 -> top colour
    np.testing.assert_array_equal(colour_at("layer1.0.se", "block", 60, 150), table[255])
    # shared range 0..1: 0.2 -> index 51; fixed01 likewise
    np.testing.assert_array_equal(colour_at("layer1.0.se", "shared", 60, 150), table[51])
    np.testing.assert_array_equal(colour_at("layer1.0.se", "fixed01", 60, 150), table[51])


def test_invalid_options_are_rejected():
    result = small_result("cbam")
    with pytest.raises(ValueError, match="alpha"):
        spatial.overlay(result, "layer2.0.se", alpha=1.5)
    with pytest.raises(ValueError, match="normalise"):
        spatial.overlay(result, "layer2.0.se", normalise="global")  # type: ignore[arg-type]
    with pytest.raises(VisualiserError, match="no attention block"):
        spatial.overlay(result, "layer9.0.se")
    se_only = small_result("se")
    with pytest.raises(VisualiserError, match="no spatial gate"):
        spatial.overlay(se_only, "layer2.0.se")


def test_spatial_grid_has_one_tile_per_cbam_block():
    result = resnet50_like_result("cbam", gradcam=False)
    grid = spatial.spatial_grid(result, columns=4, tile_width=200)
    assert grid.dtype == np.uint8
    assert grid.shape[1] == 4 * 200 + 3 * 6  # 640×480 original -> 200-wide tiles
    shared = spatial.spatial_grid(result, normalise="shared", columns=4, tile_width=200)
    assert shared.shape == grid.shape


def test_spatial_grid_without_spatial_attention_says_so():
    image = spatial.spatial_grid(small_result("se"))
    assert image.ndim == 3 and image.dtype == np.uint8


def _rows_holding(image: np.ndarray, strip: np.ndarray) -> list[int]:
    """Rows of ``image`` where ``strip`` (same width) appears exactly."""
    height = strip.shape[0]
    return [y for y in range(image.shape[0] - height + 1) if np.array_equal(image[y : y + height], strip)]


def test_gradcam_vs_attention_prints_the_scores_it_is_given():
    gate = np.random.default_rng(9).random((7, 7)).astype(np.float32)
    block = BlockAttention("layer4.2.se", 4, 2, "cbam", 8, channel_gate=np.full(8, 0.5, np.float32), spatial_gate=gate)
    result = make_image_result((block,), gradcam=(gate - gate.min()) / (gate.max() - gate.min()))
    scores = map_agreement(result.gradcam, gate)
    image = spatial.gradcam_vs_attention(result, "layer4.2.se", scores)
    assert image.ndim == 3 and image.dtype == np.uint8
    line = "Agreement at 7x7: Spearman rank correlation 1.00, IoU of top 20% regions 1.00"
    assert len(_rows_holding(image, caption(image.shape[1], [line], 13))) == 1
    other = MapAgreement(spearman=None, iou_top=0.25, top_fraction=0.1, resolution=(14, 14))
    redrawn = spatial.gradcam_vs_attention(result, "layer4.2.se", other)
    line = "Agreement at 14x14: Spearman rank correlation undefined (a map is constant), IoU of top 10% regions 0.25"
    assert len(_rows_holding(redrawn, caption(redrawn.shape[1], [line], 13))) == 1
    with pytest.raises(ValueError, match="agreement"):
        spatial.gradcam_vs_attention(result, "layer4.2.se", None)


def test_gradcam_missing_gives_a_message_not_an_error():
    result = small_result("cbam", gradcam=False)
    image = spatial.gradcam_vs_attention(result, "layer3.0.se", None)
    assert image.shape == (200, 2 * 320 + 6, 3)
    np.testing.assert_array_equal(image[0, 0], MESSAGE_BACKGROUND)


def test_gradcam_alone_paints_the_cam_over_the_crop_only():
    result = _one_hot_result(np.zeros((100, 200, 3), np.uint8))
    cam = np.zeros((4, 4), np.float32)
    cam[HOT] = 1.0
    with_cam = ImageResult(**{**vars(result), "gradcam": cam, "gradcam_class": 0})
    shown = spatial.gradcam_alone(with_cam, alpha=1.0)
    assert shown.shape[1] == 200 and shown.shape[0] > 100  # small originals are not enlarged; a colour bar below
    image = shown[:100]
    table = lut("viridis")
    index_of = {tuple(int(v) for v in c): i for i, c in enumerate(table)}
    indices = np.array([[index_of.get(tuple(int(v) for v in px), -1) for px in row] for row in image])
    ys, xs = np.nonzero(indices == indices.max())
    assert np.all((xs >= HOT_CELL_X[0]) & (xs < HOT_CELL_X[1]))
    assert np.all((ys >= HOT_CELL_Y[0]) & (ys < HOT_CELL_Y[1]))
    assert np.all(image[5, 5] == 0)  # outside the crop: the (black) original, dimmed


def test_mixed_block_kinds_in_shared_range():
    blocks = (make_block("layer1.0.se", 1, 0, "se", 16), make_block("layer2.0.se", 2, 0, "cbam", 32, (5, 5)))
    result = make_image_result(blocks)
    assert spatial.overlay(result, "layer2.0.se", normalise="shared").ndim == 3


@pytest.mark.parametrize("size", [(56, 56), (50, 30)])
def test_upsampling_matches_torch_bilinear_without_corner_alignment(size):
    import torch
    import torch.nn.functional as F

    grid = np.random.default_rng(6).random((7, 5)).astype(np.float32)
    width, height = size
    values, inside = canvas_map.map_onto_canvas(grid, (0.0, 0.0, float(width), float(height)), (width, height))
    expected = F.interpolate(
        torch.from_numpy(grid)[None, None], size=(height, width), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(values, expected, atol=1e-5)
    assert inside.all()


@given(
    size=st.tuples(st.integers(60, 300), st.integers(60, 300)),
    scale=st.floats(0.5, 2.5),
    box=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0.3, 1), st.floats(0.3, 1)),
    grid=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    data=st.data(),
)
@settings(max_examples=40, deadline=None)
def test_one_hot_gate_peaks_in_its_own_cell_for_any_crop(size, scale, box, grid, data):
    width, height = size
    rw, rh = max(8, round(width * scale)), max(8, round(height * scale))
    cw, ch = max(4, round(box[2] * rw * 0.8)), max(4, round(box[3] * rh * 0.8))
    left, top = round(box[0] * (rw - cw)), round(box[1] * (rh - ch))
    geometry = CropGeometry((width, height), (rw, rh), (left, top, left + cw, top + ch))
    i, j = data.draw(st.integers(0, grid[0] - 1)), data.draw(st.integers(0, grid[1] - 1))
    gate = np.zeros(grid, np.float32)
    gate[i, j] = 1.0
    values, inside = _on_original(gate, geometry)
    y, x = np.unravel_index(np.argmax(np.where(inside, values, -1.0)), values.shape)
    ol, ot, orr, ob = geometry.crop_in_original()
    cell_w, cell_h = (orr - ol) / grid[1], (ob - ot) / grid[0]
    assert ol + j * cell_w - 1.0 <= x + 0.5 <= ol + (j + 1) * cell_w + 1.0
    assert ot + i * cell_h - 1.0 <= y + 0.5 <= ot + (i + 1) * cell_h + 1.0


def test_small_inputs_are_enlarged_for_screens_only_when_asked():
    result = _one_hot_result(np.zeros((100, 200, 3), np.uint8))
    assert spatial.overlay(result, "layer1.0.se", with_colorbar=False).shape == (100, 200, 3)
    enlarged = spatial.overlay(result, "layer1.0.se", alpha=1.0, with_colorbar=False, min_side=400)
    assert enlarged.shape == (200, 400, 3)  # aspect kept
    table = lut("viridis")
    index_of = {tuple(int(v) for v in c): i for i, c in enumerate(table)}
    indices = np.array([[index_of.get(tuple(int(v) for v in px), -1) for px in row] for row in enlarged])
    assert indices.max() > 200
    ys, xs = np.nonzero(indices == indices.max())
    # the peak moves with the scale: same cell, in doubled coordinates
    assert np.all((xs >= 2 * HOT_CELL_X[0]) & (xs < 2 * HOT_CELL_X[1]))
    assert np.all((ys >= 2 * HOT_CELL_Y[0]) & (ys < 2 * HOT_CELL_Y[1]))
