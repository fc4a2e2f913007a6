"""The app's handlers called as plain functions, on small random networks (tests/fakes.py)."""

from __future__ import annotations

import json
import zipfile

import av
import numpy as np
import pytest
from matplotlib.figure import Figure

from tests.support.fakes import CLIP_FRAMES, FAKE_CLIP_MODEL
from visualiser import catalogue, pipeline
from visualiser.errors import InputError, VisualiserError
from visualiser.settings import Conv3dSettings
from visualiser.ui import views

LAST = "layer4.0.se"


def _rgb(picture: np.ndarray) -> None:
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3 and min(picture.shape[:2]) > 8


def _mp4_frames(path: str) -> int:
    with av.open(path) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        return sum(1 for _ in container.decode(stream))


@pytest.fixture(autouse=True)
def _fresh_caches():
    views.clear_caches()
    yield
    views.clear_caches()


def test_analyse_image_returns_a_distribution_an_overlay_and_every_gate(fake_models, fake_inputs):
    label, overlay, summary, result = views.analyse_image(str(fake_inputs.image), "fake_cbam")
    assert result.model == "fake_cbam" and result.source == fake_inputs.image.name  # the state the views use
    probabilities = np.array(summary["probabilities"])
    assert probabilities.shape == (1000,) and abs(probabilities.sum() - 1.0) < 1e-4
    assert len(label) == 5
    top = np.sort(probabilities)[::-1][:5]
    np.testing.assert_allclose(sorted(label.values(), reverse=True), top, atol=1e-5)
    _rgb(overlay)
    assert set(summary["channel_gates"]) == {f"layer{s}.0.se" for s in (1, 2, 3, 4)}
    assert all(0.0 < g < 1.0 for gates in summary["channel_gates"].values() for g in gates)
    assert len(summary["channel_gates"][LAST]) == 64


def test_the_views_are_drawn_from_the_stored_result_without_a_forward_pass(fake_models, fake_inputs, monkeypatch):
    *_, first = views.analyse_image(str(fake_inputs.image), "fake_cbam")
    views.clear_caches()  # the views must not need the cache either: they read the state

    def refuse(*_args, **_kwargs):
        raise AssertionError("the network ran again")

    monkeypatch.setattr(pipeline, "analyse_image", refuse)
    monkeypatch.setattr(pipeline, "analyse_pixels", refuse)
    shown = views.image_views(first)
    assert shown.result is first
    assert shown.caption == f"{first.model_title} · {fake_inputs.image.name} (128×96)"
    picture, grid = views.overlay_view(shown.result, LAST, alpha=0.9, cmap="magma", normalise="shared")
    _rgb(picture)
    _rgb(grid)


def test_image_views_of_a_cbam_model(fake_models, fake_inputs):
    shown = views.image_views(views.image_result(str(fake_inputs.image), "fake_cbam"), sort=True)
    assert [name for _, name in shown.blocks] == [f"layer{s}.0.se" for s in (1, 2, 3, 4)]
    assert shown.block == LAST and shown.has_spatial
    for picture in (shown.overview, shown.grid, shown.overlay, shown.barcode):
        _rgb(picture)
    assert isinstance(shown.chart, Figure)
    assert isinstance(shown.channel_internals, Figure) and isinstance(shown.spatial_internals, Figure)
    assert "forward" in shown.timings


def test_alpha_changes_only_the_overlay_colours(fake_models, fake_inputs):
    result = views.image_result(str(fake_inputs.image), "fake_cbam")
    clear, _ = views.overlay_view(result, LAST, alpha=0.0)
    strong, _ = views.overlay_view(result, LAST, alpha=1.0)
    assert clear.shape == strong.shape
    assert np.abs(clear.astype(int) - strong.astype(int)).sum() > 0
    with pytest.raises(InputError, match="alpha"):
        views.overlay_view(result, LAST, alpha=1.5)
    with pytest.raises(InputError, match="colour map"):
        views.overlay_view(result, LAST, cmap="not-a-map")
    with pytest.raises(InputError, match="no attention block"):
        views.block_views(result, "layer9.0.se")


def test_channel_only_and_plain_models(fake_models, fake_inputs):
    se = views.image_views(views.image_result(str(fake_inputs.image), "fake_se"))
    assert not se.has_spatial and se.overlay is None and se.spatial_internals is None
    assert isinstance(se.channel_internals, Figure)
    _label, overlay, _summary, _result = views.analyse_image(str(fake_inputs.image), "fake_plain")
    assert overlay is None
    plain = views.image_views(views.image_result(str(fake_inputs.image), "fake_plain"))
    assert plain.blocks == [] and plain.block is None
    _rgb(plain.overview)


def test_gradcam_is_computed_on_request_and_scored(fake_models, fake_inputs):
    result = views.image_result(str(fake_inputs.image), "fake_cbam")
    assert result.gradcam is None
    picture, text = views.gradcam_view(result, LAST)
    _rgb(picture)
    assert "Spearman" in text and "IoU" in text
    se_result = views.image_result(str(fake_inputs.image), "fake_se")
    picture, text = views.gradcam_view(se_result, LAST)
    _rgb(picture)
    assert "no spatial attention" in text


def test_intervention_reports_two_real_forward_passes(fake_models, fake_inputs):
    result = views.image_result(str(fake_inputs.image), "fake_se")
    before, after, text = views.intervention_view(result, LAST, "identity")
    np.testing.assert_allclose(list(before.values()), [p.probability for p in result.predictions], atol=1e-6)
    assert set(before) == {p.label for p in result.predictions}
    assert len(after) == 5 and "gate set to 1" in text
    _, muted, text = views.intervention_view(result, LAST, "mute", mute_top=64)
    assert "muted" in text and muted != before
    with pytest.raises(InputError, match="between 1 and 64"):
        views.intervention_view(result, LAST, "mute", mute_top=65)


def test_bundle_zip_holds_arrays_summary_and_manifest(fake_models, fake_inputs):
    result = views.image_result(str(fake_inputs.image), "fake_cbam")
    path = views.bundle_view(result, alpha=0.3, cmap="magma")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        with archive.open("result.npz") as fh:
            arrays = np.load(fh)
            np.testing.assert_allclose(arrays["probabilities"], result.probabilities)
    assert {"result.json", "result.npz", "manifest.json"} <= names
    assert manifest["model"] == "fake_cbam" and manifest["options"]["cmap"] == "magma"
    assert any(n.endswith(".png") for n in names)


def test_unusable_inputs_get_a_clear_message(fake_models, fake_inputs):
    with pytest.raises(VisualiserError) as info:
        views.analyse_image(str(fake_inputs.corrupt_image), "fake_cbam")
    assert "broken.png" in str(info.value)
    with pytest.raises(InputError, match="upload an image"):
        views.analyse_image(None, "fake_cbam")
    with pytest.raises(VisualiserError, match="unknown model"):
        views.analyse_image(str(fake_inputs.image), "no_such_model")
    with pytest.raises(VisualiserError):
        views.analyse_clip(str(fake_inputs.corrupt_clip), FAKE_CLIP_MODEL, 8)


def test_3d_clip_gives_an_mp4_with_one_frame_per_sampled_frame(fake_models, fake_inputs):
    label, video, summary, result = views.analyse_clip(str(fake_inputs.clip), FAKE_CLIP_MODEL, 8)
    assert len(label) == 5 and abs(sum(summary["probabilities"]) - 1.0) < 1e-4
    assert summary["is_3d"] is True
    assert _mp4_frames(video) == CLIP_FRAMES
    shown = views.clip_views(result)
    assert "8 frames" in shown.caption and fake_inputs.clip.name in shown.caption
    assert shown.frames == CLIP_FRAMES and shown.block == LAST
    _rgb(shown.frame_image)
    assert isinstance(shown.over_time, Figure) and isinstance(shown.stability, Figure)
    picture, chart = views.clip_frame_view(shown.result, CLIP_FRAMES - 1, "layer2.0.se")
    _rgb(picture)
    assert isinstance(chart, Figure)


def test_image_model_runs_frame_by_frame_on_a_clip(fake_models, fake_inputs):
    _label, video, summary, result = views.analyse_clip(str(fake_inputs.clip), "fake_cbam", 4)
    assert summary["is_3d"] is False and len(summary["per_frame"]) == 4
    assert _mp4_frames(video) == 4
    shown = views.clip_views(result)
    assert isinstance(shown.over_time, Figure)
    with pytest.raises(InputError, match="between 0 and 3"):
        views.clip_frame_view(shown.result, 4, LAST)


def test_conv3d_animation_and_step_scrubber(fake_models, fake_inputs):
    settings = Conv3dSettings(kernel="teaching:blur", stride_hw=2, padding_t=1)
    video, formula, params, plan = views.conv3d_animation(str(fake_inputs.clip), settings)
    assert plan is views.conv3d_plan(str(fake_inputs.clip), settings)  # the state is the plan the MP4 shows
    assert _mp4_frames(video) == plan.steps
    t, h, _w = plan.grid.shape[1:]
    t_out, h_out = (t + 2 - 3) // 1 + 1, (h - 3) // 2 + 1
    assert f"= {t_out}" in formula.splitlines()[1] and f"= {h_out}" in formula.splitlines()[2]
    assert plan.output.shape == (t_out, h_out, h_out)
    assert "82 params" in params and "28 params" in params
    frame = views.conv3d_step(plan, plan.steps // 2)
    _rgb(frame)
    with pytest.raises(InputError, match="step must be"):
        views.conv3d_step(plan, plan.steps)
    with pytest.raises(VisualiserError, match="padded input"):
        views.conv3d_plan(str(fake_inputs.clip), Conv3dSettings(kernel_t=7, dilation_t=3))


def test_conv3d_from_a_clip_models_first_layer(fake_models, fake_inputs):
    sources = [value for _, value in catalogue.kernel_choices()]
    assert f"model:{FAKE_CLIP_MODEL}" in sources and "teaching:temporal_difference" in sources
    plan = views.conv3d_plan(str(fake_inputs.clip), Conv3dSettings(kernel=f"model:{FAKE_CLIP_MODEL}"))
    assert plan.spec.weight.shape == (8, 3, 3, 5, 5)


def test_compare_runs_one_model_per_attention_kind(fake_models, fake_inputs, monkeypatch):
    monkeypatch.setattr(catalogue, "compare_sets", lambda: {"embedded": ["fake_plain", "fake_se", "fake_cbam"]})
    columns = views.compare_models(str(fake_inputs.image), "embedded")
    assert [c.name for c in columns] == ["fake_plain", "fake_se", "fake_cbam"]
    assert [c.spatial is not None for c in columns] == [False, False, True]
    for column in columns:
        assert len(column.label) == 5
        _rgb(column.overview)
    with pytest.raises(InputError, match="unknown model group"):
        views.compare_models(str(fake_inputs.image), "nope")


def test_model_choices_say_where_the_weights_are(fake_models, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from visualiser.models.registry import get_spec
    from visualiser.models.weights.cache import installed_hub_path

    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty hub cache: nothing is here
    image = dict((value, text) for text, value in catalogue.model_choices("image"))
    assert "embedded" in image["fake_cbam"]
    assert image["seresnet50.a1_in1k"].endswith("· 112 MB download")
    installed = installed_hub_path(get_spec("seresnet50.a1_in1k").weights)  # as `fetch NAME --from FILE` puts it
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"weights")
    image = dict((value, text) for text, value in catalogue.model_choices("image"))
    assert image["seresnet50.a1_in1k"].endswith("· ImageNet, cached")
    clip = dict((value, text) for text, value in catalogue.clip_model_choices())
    assert "embedded" in clip[FAKE_CLIP_MODEL] and "per frame" in clip["fake_cbam"]


def test_learn_text_in_both_languages():
    english, chinese = views.learn_sections("en"), views.learn_sections("zh")
    assert len(english) == len(chinese) == 5
    for en, zh in zip(english, chinese, strict=True):
        assert en.count("$$") == zh.count("$$") and en.count("$$") % 2 == 0
        assert sum("\u4e00" <= ch <= "\u9fff" for ch in zh) > 100
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in en)
    with pytest.raises(InputError):
        views.learn_sections("fr")


def test_the_ui_boundary_shows_user_errors_and_hides_bugs(caplog):
    import gradio as gr

    from visualiser.ui.boundary import INTERNAL_ERROR, guarded

    def user_mistake():
        raise InputError("that file is not an image")

    def bug():
        raise KeyError("secret internals")

    with pytest.raises(gr.Error) as shown:
        guarded(user_mistake)()
    assert shown.value.message == "that file is not an image"
    with pytest.raises(gr.Error) as hidden, caplog.at_level("ERROR", logger="visualiser.ui"):
        guarded(bug)()
    assert hidden.value.message == INTERNAL_ERROR and "secret" not in hidden.value.message
    assert "secret internals" in caplog.text


def test_reference_view_uses_the_models_statistics_when_present(fake_models, fake_inputs, tmp_path, monkeypatch):
    from visualiser import catalogue as image_handlers
    from visualiser.reference_stats import ReferenceStats, save_reference_stats

    result = views.image_result(str(fake_inputs.image), "fake_se")
    assert views.reference_view(result) is None  # no statistics for a fake model
    rng = np.random.default_rng(0)
    means = {b.name: rng.random((1, b.channels)).astype(np.float32) for b in result.blocks}
    overall = {b.name: np.full(b.channels, 0.5, np.float32) for b in result.blocks}
    stats = ReferenceStats(("disc",), np.array([10]), means, overall, {})
    path = save_reference_stats(stats, tmp_path / "fake_se.stats.npz")
    monkeypatch.setattr(image_handlers, "reference_stats_path", lambda model: path if model == "fake_se" else None)
    figure = views.reference_view(result)
    assert isinstance(figure, Figure) and len(figure.axes) >= 4


def test_image_payloads_reach_the_decoder_untouched(fake_inputs):
    import base64

    from visualiser.ui.components import image_source

    raw = fake_inputs.image.read_bytes()
    assert image_source({"path": str(fake_inputs.image), "url": None}) == str(fake_inputs.image)
    data_url = "data:image/png;base64," + base64.b64encode(raw).decode()
    assert image_source({"path": None, "url": data_url}) == raw
    assert image_source(None) is None
    with pytest.raises(VisualiserError, match="without a file"):
        image_source({"path": None, "url": None})


def test_png_files_turns_rgb_arrays_into_lossless_pngs_and_leaves_the_rest(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    picture = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    gates = np.linspace(0, 1, 5, dtype=np.float32)  # not an RGB image: passes through

    @views.png_files
    def returns_a_mix() -> tuple:
        return picture, "text", gates, None

    path, text, same_gates, nothing = returns_a_mix()
    assert path.endswith(".png") and text == "text" and same_gates is gates and nothing is None
    with Image.open(path) as decoded:
        assert decoded.format == "PNG"
        np.testing.assert_array_equal(np.asarray(decoded.convert("RGB")), picture)
    as_list = views.png_files(lambda: [picture])()
    assert isinstance(as_list, list) and as_list[0].endswith(".png")
