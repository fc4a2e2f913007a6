"""The orchestrator end to end on real (randomly initialised) networks: images, clips, interventions, saving."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from visualiser import pipeline
from visualiser.errors import InputError, ModelNotFoundError


def test_image_result_is_complete_and_consistent(fake_models, fake_inputs):
    r = pipeline.analyse_image(fake_inputs.image, model="fake_cbam", top_k=5)
    assert len(r.predictions) == 5
    probs = [p.probability for p in r.predictions]
    assert probs == sorted(probs, reverse=True)
    np.testing.assert_allclose(r.probabilities.sum(), 1.0, rtol=1e-5)
    assert r.predictions[0].index == int(np.argmax(r.probabilities))
    assert r.original_image.shape == (96, 128, 3) and r.input_image.shape == (64, 64, 3)
    assert [b.stage for b in r.blocks] == [1, 2, 3, 4]
    for b in r.blocks:
        assert b.kind == "cbam" and b.channel_gate.shape == (b.channels,)
        assert b.spatial_gate.ndim == 2 and 0 < b.spatial_gate.min() <= b.spatial_gate.max() < 1
    assert {"decode_s", "preprocess_s", "forward_s"} <= set(r.timings)


def test_same_input_gives_identical_results(fake_models, fake_inputs):
    a = pipeline.analyse_image(fake_inputs.image, model="fake_se")
    b = pipeline.analyse_image(fake_inputs.image.read_bytes(), model="fake_se")
    for x, y in zip(a.blocks, b.blocks, strict=True):
        np.testing.assert_array_equal(x.channel_gate, y.channel_gate)


def test_gates_are_the_ones_the_forward_pass_used(fake_models, fake_inputs):
    """The last SE gate times its input is what the block passed on: compare with an independent hook."""
    loaded = pipeline.get_model("fake_se")
    seen = {}
    module = loaded.model.get_submodule("layer4.0.se")
    h1 = module.register_forward_pre_hook(lambda _m, a: seen.__setitem__("in", a[0].detach().clone()))
    h2 = module.register_forward_hook(lambda _m, _a, o: seen.__setitem__("out", o.detach().clone()))
    try:
        r = pipeline.analyse_image(fake_inputs.image, model="fake_se")
    finally:
        h1.remove()
        h2.remove()
    gate = torch.from_numpy(r.block("layer4.0.se").channel_gate).view(1, -1, 1, 1)
    torch.testing.assert_close(seen["in"] * gate, seen["out"])


def test_gradcam_is_a_normalised_map_of_the_top_class(fake_models, fake_inputs):
    r = pipeline.analyse_image(fake_inputs.image, model="fake_cbam", gradcam=True)
    assert r.gradcam is not None and r.gradcam.ndim == 2
    assert r.gradcam.min() >= 0 and r.gradcam.max() == pytest.approx(1.0)
    assert r.gradcam_class == r.predictions[0].index


def test_save_writes_json_and_npz_with_every_gate(fake_models, fake_inputs, tmp_path):
    r = pipeline.analyse_image(fake_inputs.image, model="fake_cbam")
    json_path, npz_path = r.save(tmp_path)
    manifest = json.loads(json_path.read_text())
    assert manifest["predictions"][0]["label"] == r.predictions[0].label
    with np.load(npz_path) as arrays:
        for b in r.blocks:
            np.testing.assert_array_equal(arrays[f"{b.name}/channel_gate"], b.channel_gate)
            np.testing.assert_array_equal(arrays[f"{b.name}/spatial_gate"], b.spatial_gate)


def test_identity_intervention_changes_predictions_like_a_second_forward(fake_models, fake_inputs):
    out = pipeline.intervene(fake_inputs.image, "layer4.0.se", mode="identity", model="fake_se")
    plain = pipeline.analyse_image(fake_inputs.image, model="fake_se")
    np.testing.assert_allclose(out.probabilities_before, plain.probabilities, rtol=1e-6)
    assert not np.allclose(out.probabilities_after, out.probabilities_before)
    np.testing.assert_allclose(out.probabilities_after.sum(), 1.0, rtol=1e-5)


def test_mute_top_channels_picks_the_largest_gates(fake_models, fake_inputs):
    plain = pipeline.analyse_image(fake_inputs.image, model="fake_se")
    gate = plain.block("layer3.0.se").channel_gate
    out = pipeline.intervene(fake_inputs.image, "layer3.0.se", mode="mute", mute_top=3, model="fake_se")
    top3 = sorted(int(i) for i in np.argsort(-gate)[:3])
    assert str(top3) in out.description


def test_bad_requests_raise_clear_errors(fake_models, fake_inputs):
    with pytest.raises(ModelNotFoundError, match="unknown model"):
        pipeline.analyse_image(fake_inputs.image, model="no_such_model")
    with pytest.raises(InputError):
        pipeline.analyse_image(fake_inputs.corrupt_image, model="fake_se")
    with pytest.raises(InputError, match="no attention block"):
        pipeline.intervene(fake_inputs.image, "layer9.0.se", model="fake_se")
    with pytest.raises(InputError, match="clips, not images"):
        pipeline.analyse_image(fake_inputs.image, model="fake_motion3d")


def test_clip_through_a_2d_model_gives_one_result_per_frame(fake_models, fake_inputs):
    r = pipeline.analyse_clip(fake_inputs.clip, model="fake_cbam", max_frames=4)
    assert not r.is_3d and len(r.per_frame) == 4 == len(r.frames) == len(r.timestamps)
    assert np.all(np.diff(r.timestamps) > 0)
    np.testing.assert_allclose(r.probabilities, np.mean([f.probabilities for f in r.per_frame], axis=0), rtol=1e-6)


def test_clip_through_a_3d_model_gives_spatiotemporal_gates(fake_models, fake_inputs):
    r = pipeline.analyse_clip(fake_inputs.clip, model="fake_motion3d")
    assert r.is_3d and r.input_frames.shape[0] == 8
    np.testing.assert_allclose(r.probabilities.sum(), 1.0, rtol=1e-5)
    spatial = [b for b in r.blocks if b.spatial_gate is not None]
    assert spatial and all(b.spatial_gate.ndim == 3 for b in spatial)


def test_batched_frames_equal_frame_by_frame_analysis(fake_models, fake_inputs):
    """Clips run image models several frames per forward pass; each frame must still get its own answer."""
    loaded = pipeline.get_model("fake_cbam")
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, (pipeline.FRAME_BATCH + 3, 48, 64, 3), dtype=np.uint8)  # two batches
    batched = pipeline.analyse_frames(frames, loaded)
    assert len(batched) == len(frames)
    for frame, together in zip(frames, batched, strict=True):
        alone = pipeline.analyse_pixels(frame, loaded)
        np.testing.assert_allclose(together.probabilities, alone.probabilities, atol=1e-5)
        assert together.original_image is frame or np.array_equal(together.original_image, frame)
        for a, b in zip(together.blocks, alone.blocks, strict=True):
            np.testing.assert_allclose(a.channel_gate, b.channel_gate, atol=1e-5)
            if b.spatial_gate is not None:
                np.testing.assert_allclose(a.spatial_gate, b.spatial_gate, atol=1e-5)
    assert not np.allclose(batched[0].probabilities, batched[1].probabilities)  # distinct frames, distinct answers


# --- what a result says about its input, and what its figures print beside it ----------------------------------


def test_the_outside_notice_follows_the_inputs_identity(fake_models, fake_inputs):
    """An embedded network's notice goes on every input but the shipped generated examples of what it learned."""
    import hashlib

    from visualiser.paths import EXAMPLES_DIR

    star, photo, motion = (
        EXAMPLES_DIR / "shapes/star_0.png",
        EXAMPLES_DIR / "photos/coffee.jpg",
        EXAMPLES_DIR / "motion/up.mp4",
    )
    assert pipeline.analyse_image(star, model="shapes_cbam").outside_notice == ""
    notice = pipeline.analyse_image(photo, model="shapes_cbam").outside_notice
    assert notice.startswith("Outside what Shapes CBAM-ResNet-10") and "8 generated shapes" in notice
    same_pixels = pipeline.analyse_image(
        np.asarray(pipeline.analyse_image(star, model="shapes_se").original_image), model="shapes_se"
    )
    assert same_pixels.outside_notice  # the same pixels without the file: not known to be an example
    assert pipeline.analyse_image(star, model="fake_cbam").outside_notice == ""  # not an embedded network
    assert pipeline.analyse_clip(motion, model="motion_cbam3d").outside_notice == ""
    assert pipeline.analyse_clip(motion, model="shapes_cbam", max_frames=2).outside_notice  # shapes never moved
    # The digest a caller passes down is the input's identity: the file is not hashed again.
    given = hashlib.sha1(star.read_bytes()).hexdigest()
    trusted = pipeline.analyse_image(photo, model="shapes_cbam", sha1=given)
    assert trusted.source_sha1 == given and trusted.outside_notice == "" and trusted.source == "coffee.jpg"
    assert json.loads(json.dumps(trusted.to_json()))["outside_notice"] == ""


def test_with_gradcam_keeps_the_files_record(fake_models, fake_inputs):
    plain = pipeline.analyse_image(fake_inputs.image, model="fake_cbam")
    with_cam = pipeline.with_gradcam(plain)
    assert with_cam.gradcam is not None and plain.gradcam is None
    assert (with_cam.source, with_cam.source_sha1) == (plain.source, plain.source_sha1) != ("", "")
    np.testing.assert_array_equal(with_cam.probabilities, plain.probabilities)
    direct = pipeline.analyse_image(fake_inputs.image, model="fake_cbam", gradcam=True)
    np.testing.assert_allclose(with_cam.gradcam, direct.gradcam, atol=1e-6)
    assert pipeline.with_gradcam(with_cam) is with_cam  # nothing to add: no second pass


def test_result_scores_are_the_ones_each_kind_of_result_prints(fake_models, fake_inputs, tmp_path, monkeypatch):
    from visualiser.analysis.agreement import image_agreement
    from visualiser.reference_stats import ReferenceStats, save_reference_stats

    image = pipeline.analyse_image(fake_inputs.image, model="fake_cbam", gradcam=True)
    scores = pipeline.result_scores(image)
    assert scores.stability is None and scores.reference is None  # no statistics were computed for fake_cbam
    assert scores.agreement == image_agreement(image) and set(scores.agreement.gradcam) == {
        b.name for b in image.spatial_blocks
    }
    clip = pipeline.analyse_clip(fake_inputs.clip, model="fake_cbam", max_frames=3)
    clip_scores = pipeline.result_scores(clip)
    assert clip_scores.agreement is None and clip_scores.reference is None
    assert all(len(v) == 2 for v in clip_scores.stability.channel_cosine.values())  # 3 frames, 2 pairs
    # A model with statistics on this machine gets them (read from the one place they are kept).
    channels = image.blocks[0].channels
    stats = ReferenceStats(("a",), np.ones(1), {image.blocks[0].name: np.ones((1, channels), np.float32)}, {}, {})
    monkeypatch.setattr(pipeline.scores, "stats_path", lambda model: tmp_path / f"{model}.stats.npz")
    save_reference_stats(stats, tmp_path / "fake_cbam.stats.npz")
    assert pipeline.reference_stats("fake_cbam").classes == ("a",)
    assert pipeline.result_scores(image).reference.blocks() == (image.blocks[0].name,)
