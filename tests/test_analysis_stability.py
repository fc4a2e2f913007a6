"""Stability scores (numpy only): cosine and correlation of consecutive gates, against numpy's own formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.support.render_fixtures import clip_result_2d, clip_result_3d, make_image_result
from visualiser.analysis.stability import StabilityScores, correlation, cosine, stability_scores
from visualiser.result import BlockAttention, ClipResult


def _frames_with(gates: list[tuple[np.ndarray, np.ndarray]]) -> ClipResult:
    per_frame = tuple(
        make_image_result((BlockAttention("layer1.0.se", 1, 0, "cbam", len(c), channel_gate=c, spatial_gate=s),))
        for c, s in gates
    )
    return ClipResult(
        model="m",
        model_title="M",
        frames=np.stack([r.original_image for r in per_frame]),
        timestamps=np.arange(len(gates), dtype=float),
        predictions=per_frame[0].predictions,
        probabilities=per_frame[0].probabilities,
        per_frame=per_frame,
        geometry=per_frame[0].geometry,
    )


def test_stability_scores_against_numpy():
    rng = np.random.default_rng(8)
    c0, s0 = rng.random(16).astype(np.float32), rng.random((5, 5)).astype(np.float32)
    c2, s2 = rng.random(16).astype(np.float32), rng.random((5, 5)).astype(np.float32)
    scores = stability_scores(_frames_with([(c0, s0), (0.5 * c0, 1.0 - s0), (c2, s2)]))
    channel = scores.channel_cosine["layer1.0.se"]
    spatial = scores.spatial_correlation["layer1.0.se"]
    assert channel[0] == pytest.approx(1.0)  # same direction, half the size
    assert spatial[0] == pytest.approx(-1.0)  # inverted map
    cos = float(c0 @ c2 / np.linalg.norm(c0) / np.linalg.norm(c2))
    assert channel[1] == pytest.approx(cos, rel=1e-5)
    assert spatial[1] == pytest.approx(np.corrcoef((1.0 - s0).ravel(), s2.ravel())[0, 1], rel=1e-5)
    assert not scores.over_time_slices and not scores.is_empty


def test_a_3d_model_compares_time_slices_of_its_one_gate():
    clip = clip_result_3d(frames=8, gate_frames=4)  # blocks with 4 and 2 time slices
    scores = stability_scores(clip)
    assert scores.channel_cosine == {} and scores.over_time_slices
    assert [len(v) for v in scores.spatial_correlation.values()] == [3, 1]
    gate = clip.blocks[0].spatial_gate
    expected = [np.corrcoef(gate[t].ravel(), gate[t + 1].ravel())[0, 1] for t in range(3)]
    np.testing.assert_allclose(scores.spatial_correlation["layer1.0.se"], expected, rtol=1e-6)


def test_every_block_of_an_image_model_gets_one_score_per_pair():
    clip = clip_result_2d(frames=5)
    scores = stability_scores(clip)
    names = [b.name for b in clip.frame_blocks(0)]
    assert list(scores.channel_cosine) == names == list(scores.spatial_correlation)
    assert all(v.shape == (4,) for v in (*scores.channel_cosine.values(), *scores.spatial_correlation.values()))


def test_constant_maps_score_nan_and_one_frame_scores_nothing():
    assert math.isnan(correlation(np.ones((3, 3)), np.arange(9.0).reshape(3, 3)))
    assert math.isnan(cosine(np.zeros(4), np.ones(4)))
    one = stability_scores(clip_result_2d(frames=1))
    assert one.is_empty


def test_scores_are_frozen():
    scores = StabilityScores({"a": [1.0, 0.5]}, {})
    with pytest.raises(ValueError, match="read-only"):
        scores.channel_cosine["a"][0] = 0.0
    with pytest.raises(TypeError):
        scores.channel_cosine["b"] = np.zeros(1)
