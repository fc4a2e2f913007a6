"""Clip views: decodable MP4 with one frame per sampled frame, the time mapping of 3-D gates, timeline, stability."""

from __future__ import annotations

import av
import numpy as np
import pytest
from matplotlib.image import AxesImage

from tests.support.render_fixtures import clip_result_2d, clip_result_3d, figure_to_rgb, make_block, make_image_result
from visualiser.analysis.stability import StabilityScores, stability_scores
from visualiser.errors import VisualiserError
from visualiser.render import clips
from visualiser.result import ClipResult


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


def _matrices(fig) -> list[np.ndarray]:
    """The heatmap arrays of a figure, top to bottom (masked cells as NaN)."""
    images = [im for ax in fig.axes for im in ax.images]
    return [np.ma.filled(im.get_array().astype(float), np.nan) for im in images]


def test_stability_figure_draws_the_scores_it_is_given():
    clip = clip_result_2d(frames=4)
    scores = stability_scores(clip)
    fig = clips.stability(clip, scores)
    channel, spatial = _matrices(fig)
    np.testing.assert_array_equal(channel, np.stack(list(scores.channel_cosine.values())))
    np.testing.assert_array_equal(spatial, np.stack(list(scores.spatial_correlation.values())))
    assert fig.axes[1].images[0].get_clim() == (-1.0, 1.0)  # correlation on its full, diverging range
    assert fig.axes[1].images[0].get_cmap().name == "RdBu_r"
    made_up = StabilityScores({"layer1.0.se": [0.5, 0.25, 1.0]}, {})
    only = _matrices(clips.stability(clip, made_up))
    assert len(only) == 1
    np.testing.assert_array_equal(only[0], [[0.5, 0.25, 1.0]])


def test_stability_figure_for_3d_slices_of_different_lengths_and_single_frames():
    three_d = clip_result_3d(frames=8, gate_frames=4)  # blocks with 4 and 2 time slices
    fig = clips.stability(three_d, stability_scores(three_d))
    (matrix,) = _matrices(fig)
    assert matrix.shape == (2, 3) and np.isnan(matrix[1, 1:]).all()  # the shorter row is padded, not stretched
    assert "time slices" in fig.axes[0].get_xlabel()
    single = _se_clip(frames=1)
    message = clips.stability(single, stability_scores(single))
    assert not message.axes and "nothing to compare" in message.texts[0].get_text()
    assert figure_to_rgb(message).ndim == 3
