"""Clip views: decodable MP4 with one frame per sampled frame, the time mapping of 3-D gates, timeline, stability."""

from __future__ import annotations

import av
import numpy as np
import pytest
from matplotlib.image import AxesImage

from tests.support.render_fixtures import clip_result_2d, clip_result_3d, make_block, make_image_result
from visualiser.errors import VisualiserError
from visualiser.render import clips
from visualiser.render._common import figure_to_rgb
from visualiser.result import BlockAttention, ClipResult


def _decode(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)]


@pytest.mark.parametrize("make", [lambda: clip_result_2d(frames=5), lambda: clip_result_3d(frames=7, gate_frames=4)])
def test_attention_video_decodes_to_exactly_t_frames(tmp_path, make):
    clip = make()
    path = clips.attention_video(clip, tmp_path / "a.mp4", fps=4)
    frames = _decode(path)
    assert len(frames) == len(clip.frames)
    height, width = frames[0].shape[:2]
    assert height % 2 == 0 and width % 2 == 0


def test_gate_time_maps_slice_centres_onto_frames():
    assert clips.gate_time(0, 8, 4) == 0.0  # clamped at the start
    assert clips.gate_time(1, 8, 4) == pytest.approx(0.25)
    assert clips.gate_time(4, 8, 4) == pytest.approx(1.75)
    assert clips.gate_time(7, 8, 4) == 3.0  # clamped at the end
    assert clips.gate_time(3, 4, 4) == 3.0  # one slice per frame: identity


def test_3d_frame_gate_interpolates_neighbouring_slices():
    clip = clip_result_3d(frames=8, gate_frames=4)
    gates = clip.blocks[0].spatial_gate
    gate, geometry, _ = clips.frame_gate(clip, 1, "layer1.0.se")
    np.testing.assert_allclose(gate, 0.75 * gates[0] + 0.25 * gates[1], rtol=1e-6)
    assert geometry == clip.geometry


def test_2d_frames_use_their_own_gates_and_a_clip_wide_range():
    clip = clip_result_2d(frames=4)
    for i in range(4):
        gate, geometry, _ = clips.frame_gate(clip, i, "layer2.0.se")
        np.testing.assert_array_equal(gate, clip.per_frame[i].block("layer2.0.se").spatial_gate)
        assert geometry == clip.per_frame[i].geometry
    every = [r.block("layer2.0.se").spatial_gate for r in clip.per_frame]
    low, high = clips.clip_range(clip, "layer2.0.se", "clip", every[0])
    assert (low, high) == (min(g.min() for g in every), max(g.max() for g in every))


def test_attention_frame_for_scrubbing():
    clip = clip_result_2d(frames=3)
    first = clips.attention_frame(clip, 0)
    assert first.dtype == np.uint8 and first.shape[1] == max(clip.frames.shape[2], clips.MIN_WIDTH)
    with pytest.raises(VisualiserError, match="outside"):
        clips.attention_frame(clip, 3)


def _se_clip(frames: int = 3) -> ClipResult:
    per_frame = tuple(make_image_result((make_block("layer1.0.se", 1, 0, "se", 32, seed=t),)) for t in range(frames))
    return ClipResult(
        model="se",
        model_title="SE",
        frames=np.stack([r.original_image for r in per_frame]),
        timestamps=np.arange(frames, dtype=float),
        predictions=per_frame[0].predictions,
        probabilities=per_frame[0].probabilities,
        per_frame=per_frame,
        geometry=per_frame[0].geometry,
    )


def test_channel_only_models_still_get_frames_and_a_video(tmp_path):
    clip = _se_clip()
    assert clips.default_spatial_block(clip) == "layer1.0.se"
    image = clips.attention_frame(clip, 1)
    assert image.ndim == 3 and image.shape[0] > clip.frames.shape[1]  # frame + channel bars below
    assert len(_decode(clips.attention_video(clip, tmp_path / "se.mp4"))) == 3


def test_channel_timeline_is_frames_by_channels():
    clip = clip_result_2d(frames=4)
    fig = clips.channel_timeline(clip, "layer3.0.se")
    image = next(a for a in fig.axes[0].get_children() if isinstance(a, AxesImage))
    expected = np.stack([r.block("layer3.0.se").channel_gate for r in clip.per_frame])
    np.testing.assert_array_equal(image.get_array(), expected)
    assert image.get_clim() == (0.0, 1.0)
    one_row = clips.channel_timeline(clip_result_3d(), "layer2.0.se")
    image3d = next(a for a in one_row.axes[0].get_children() if isinstance(a, AxesImage))
    assert image3d.get_array().shape == (1, 32)


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
    clip = _frames_with([(c0, s0), (0.5 * c0, 1.0 - s0), (c2, s2)])
    scores = clips.stability_scores(clip)
    channel = scores["channel_cosine"]["layer1.0.se"]
    spatial = scores["spatial_correlation"]["layer1.0.se"]
    assert channel[0] == pytest.approx(1.0)  # same direction, half the size
    assert spatial[0] == pytest.approx(-1.0)  # inverted map
    cos = float(c0 @ c2 / np.linalg.norm(c0) / np.linalg.norm(c2))
    assert channel[1] == pytest.approx(cos, rel=1e-5)
    assert spatial[1] == pytest.approx(np.corrcoef((1.0 - s0).ravel(), s2.ravel())[0, 1], rel=1e-5)


def test_stability_figure_for_2d_and_3d_and_single_frames():
    assert figure_to_rgb(clips.stability(clip_result_2d(frames=4))).ndim == 3
    three_d = clip_result_3d(frames=8, gate_frames=4)  # blocks with 4 and 2 time slices
    scores = clips.stability_scores(three_d)
    assert scores["channel_cosine"] == {}
    assert [len(v) for v in scores["spatial_correlation"].values()] == [3, 1]
    assert figure_to_rgb(clips.stability(three_d)).ndim == 3
    assert figure_to_rgb(clips.stability(_se_clip(frames=1))).ndim == 3  # says there is nothing to compare
