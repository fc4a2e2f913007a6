"""Agreement scores (numpy only): Spearman against the textbook, top-region IoU, the common grid, per-result scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.render_fixtures import make_block, resnet50_like_result, small_result
from visualiser.analysis import agreement
from visualiser.render.canvas_map import map_onto_canvas
from visualiser.result import BlockAttention


def _spearman_reference(a: list[float], b: list[float]) -> float:
    """Textbook formula for distinct values: 1 − 6 Σd² / (n (n² − 1))."""
    rank_a = {v: i for i, v in enumerate(sorted(a))}
    rank_b = {v: i for i, v in enumerate(sorted(b))}
    n = len(a)
    d2 = sum((rank_a[x] - rank_b[y]) ** 2 for x, y in zip(a, b, strict=True))
    return 1 - 6 * d2 / (n * (n * n - 1))


def test_spearman_matches_the_textbook_formula_and_the_extremes():
    rng = np.random.default_rng(4)
    a, b = rng.random((6, 6)), rng.random((6, 6))
    assert agreement.spearman(a, b) == pytest.approx(_spearman_reference(a.ravel().tolist(), b.ravel().tolist()))
    assert agreement.spearman(a, a) == pytest.approx(1.0)
    assert agreement.spearman(a, -a) == pytest.approx(-1.0)
    assert agreement.spearman(a, a**3 + 2) == pytest.approx(1.0)  # ranks only
    assert math.isnan(agreement.spearman(a, np.ones_like(a)))


def test_average_ranks_share_ties():
    np.testing.assert_array_equal(agreement.average_ranks(np.array([3.0, 1.0, 2.0, 2.0])), [3.0, 0.0, 1.5, 1.5])


def test_top_region_iou():
    a = np.arange(10, dtype=float)
    assert agreement.top_region_iou(a, a) == 1.0
    assert agreement.top_region_iou(a, -a) == 0.0
    b = a.copy()
    b[[7, 8]] = b[[8, 7]]  # top two: {8, 9} vs {7, 9}
    assert agreement.top_region_iou(a, b) == pytest.approx(1 / 3)


def test_map_agreement_on_a_common_grid():
    coarse = np.random.default_rng(2).random((7, 7)).astype(np.float32)
    fine = np.kron(coarse, np.ones((2, 2), np.float32))  # same map at 14×14
    scores = agreement.map_agreement(coarse, fine)
    assert scores.resolution == (14, 14)
    assert scores.spearman > 0.9
    assert agreement.map_agreement(coarse, coarse).iou_top == 1.0
    assert agreement.map_agreement(coarse, np.ones_like(coarse)).spearman is None


def test_identical_maps_agree_fully_and_inverted_ones_rank_opposite():
    gate = np.random.default_rng(9).random((7, 7)).astype(np.float32)
    cam = (gate - gate.min()) / (gate.max() - gate.min())
    same = agreement.map_agreement(cam, gate)
    assert same.spearman == pytest.approx(1.0) and same.iou_top == 1.0
    assert agreement.map_agreement(1.0 - cam, gate).spearman == pytest.approx(-1.0)
    assert same.to_json() == {"spearman": same.spearman, "iou_top": 1.0, "top_fraction": 0.2, "resolution": [7, 7]}


@pytest.mark.parametrize(("source", "shape"), [((7, 5), (56, 56)), ((3, 3), (14, 28)), ((12, 12), (12, 12))])
def test_resampling_matches_torch_bilinear_and_the_drawn_mapping(source, shape):
    import torch
    import torch.nn.functional as F

    grid = np.random.default_rng(6).random(source).astype(np.float32)
    values = agreement.resample(grid, shape)
    expected = F.interpolate(torch.from_numpy(grid)[None, None], size=shape, mode="bilinear", align_corners=False)[
        0, 0
    ].numpy()
    np.testing.assert_allclose(values, expected, atol=1e-5)
    drawn, _ = map_onto_canvas(grid, (0.0, 0.0, float(shape[1]), float(shape[0])), (shape[1], shape[0]))
    np.testing.assert_allclose(values, drawn, atol=1e-5)  # the scores compare what the overlays draw


def test_two_dimensional_maps_only():
    with pytest.raises(ValueError, match="2-D"):
        agreement.map_agreement(np.zeros((2, 3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="fraction"):
        agreement.top_region(np.zeros(4), 0.0)


def test_image_agreement_covers_every_spatial_block_and_every_squeeze():
    result = small_result("cbam", gradcam=True)
    scores = agreement.image_agreement(result)
    assert set(scores.gradcam) == {b.name for b in result.spatial_blocks}
    for block in result.spatial_blocks:
        assert scores.gradcam[block.name] == agreement.map_agreement(result.gradcam, block.spatial_gate)
    assert scores.squeeze_gate == {}  # CBAM records no squeeze
    assert scores.to_json() == {name: s.to_json() for name, s in scores.gradcam.items()}
    with pytest.raises(TypeError):
        scores.gradcam["x"] = scores.gradcam["layer1.0.se"]  # frozen: what was computed is what is drawn


def test_image_agreement_without_gradcam_has_only_the_squeeze_scores():
    result = resnet50_like_result("se", gradcam=False)
    scores = agreement.image_agreement(result)
    assert scores.gradcam == {}
    assert set(scores.squeeze_gate) == {b.name for b in result.blocks}
    block = result.blocks[3]
    assert scores.squeeze_gate[block.name] == pytest.approx(agreement.spearman(block.squeeze, block.channel_gate))


def test_squeeze_gate_spearman_is_none_when_undefined_or_absent():
    flat = BlockAttention("a", 1, 0, "se", 4, squeeze=np.ones(4, np.float32), channel_gate=np.arange(4.0))
    assert agreement.squeeze_gate_spearman(flat) is None
    assert agreement.squeeze_gate_spearman(make_block("b", 1, 0, "cbam", 8, (3, 3))) is None
    assert math.isfinite(agreement.squeeze_gate_spearman(make_block("c", 1, 0, "se", 8)))
