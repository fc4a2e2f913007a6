"""The app's handlers called as plain functions, on small random networks (tests/fakes.py)."""

from __future__ import annotations

import json
import zipfile

import av
import numpy as np
import pytest
from matplotlib.figure import Figure

from tests.support.fakes import CLIP_FRAMES, FAKE_CLIP_MODEL
from visualiser import catalogue, paths, pipeline
from visualiser.errors import InputError, VisualiserError
from visualiser.settings import Conv3dSettings
from visualiser.ui import views
from visualiser.ui.views.text import markdown_text

LAST = "layer4.0.se"


def _rgb(picture) -> None:
    picture = getattr(picture, "value", picture)  # a view's Shown, or the picture itself
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
    escaped = markdown_text  # the caption is Markdown: a file name is text, never a link
    assert shown.caption == f"{escaped(first.model_title)} · {escaped(fake_inputs.image.name)} (128×96)"
    assert views.image_views(first, lang="zh").caption == f"{first.model_title} · {fake_inputs.image.name}（128×96）"
    picture, grid = views.overlay_view(shown.result, LAST, alpha=0.9, cmap="magma", normalise="shared")
    _rgb(picture)
    _rgb(grid)


def test_image_views_of_a_cbam_model(fake_models, fake_inputs):
    shown = views.image_views(views.image_result(str(fake_inputs.image), "fake_cbam"), sort=True)
    assert [name for _, name in shown.blocks] == [f"layer{s}.0.se" for s in (1, 2, 3, 4)]
    assert shown.block == LAST and shown.has_spatial
    for picture in (shown.overview, shown.grid, shown.overlay, shown.barcode):
        _rgb(picture)
    _rgb(shown.chart)  # the block chart comes as a picture (channels.channel_bars_picture)
    assert isinstance(shown.channel_internals.value, Figure) and isinstance(shown.spatial_internals.value, Figure)
    assert "forward" in shown.timings and "前向传播" in views.image_views(shown.result, lang="zh").timings
    assert shown.mute_limit == 64 and shown.spatial_note == ""


def test_alpha_changes_only_the_overlay_colours(fake_models, fake_inputs):
    result = views.image_result(str(fake_inputs.image), "fake_cbam")
    clear = views.overlay_view(result, LAST, alpha=0.0)[0].value
    strong = views.overlay_view(result, LAST, alpha=1.0)[0].value
    assert clear.shape == strong.shape
    assert np.abs(clear.astype(int) - strong.astype(int)).sum() > 0
    with pytest.raises(InputError, match="alpha"):
        views.overlay_view(result, LAST, alpha=1.5)
    with pytest.raises(InputError, match="colour map"):
        views.overlay_view(result, LAST, cmap="not-a-map")
    with pytest.raises(InputError, match="no attention block"):
        views.block_views(result, "layer9.0.se")


def test_every_view_a_model_cannot_fill_says_why(fake_models, fake_inputs):
    se = views.image_views(views.image_result(str(fake_inputs.image), "fake_se"))
    assert not se.has_spatial and not se.overlay.drawn and not se.grid.drawn
    assert "No spatial attention in Fake SE ResNet" in se.spatial_note
    assert "SE blocks gate channels only" in se.grid.note
    assert not se.spatial_internals.drawn and "is an SE block, which gates channels only" in se.spatial_internals.note
    assert isinstance(se.channel_internals.value, Figure)
    assert "python -m visualiser stats fake_se" in se.reference.note  # no statistics for a fake: how to get them
    _label, overlay, _summary, _result = views.analyse_image(str(fake_inputs.image), "fake_plain")
    assert overlay is None
    plain = views.image_views(views.image_result(str(fake_inputs.image), "fake_plain"))
    assert plain.blocks == [] and plain.block is None and plain.mute_limit == 0
    empty = (plain.overview, plain.barcode, plain.chart, plain.overlay, plain.grid, plain.channel_internals,
             plain.spatial_internals, plain.reference)  # fmt: skip
    assert all(not v.drawn and v.note for v in empty)  # nothing drawn, and each says why
    assert "has no attention module" in plain.overview.note
    zh = views.image_views(plain.result, lang="zh")
    assert "没有注意力模块" in zh.overview.note and "没有注意力模块" in zh.spatial_note


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


def test_gradcam_works_on_a_model_without_attention(fake_models, fake_inputs):
    plain = views.image_result(str(fake_inputs.image), "fake_plain")
    picture, text = views.gradcam_view(plain, None, lang="zh")
    _rgb(picture)
    top = plain.predictions[0].label
    assert "没有空间注意力" in text and top in text  # the class it explains is named


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
    assert views.mute_limit(result, "layer1.0.se") == 8 and views.mute_limit(result, LAST) == 64
    _, _, chinese = views.intervention_view(result, LAST, "identity", lang="zh")
    assert "门控设为 1" in chinese and "第一名" in chinese


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
    assert "8 帧" in views.clip_views(result, "zh").caption
    assert shown.frames == CLIP_FRAMES and shown.block == LAST
    _rgb(shown.frame_image)
    _rgb(shown.over_time)  # a 3-D block's spatial gate step by step, as a picture (sam_internals_picture)
    assert isinstance(shown.stability.value, Figure)
    picture, chart = views.clip_frame_view(shown.result, CLIP_FRAMES - 1, "layer2.0.se")
    _rgb(picture)
    _rgb(chart)
    later = views.video_view_soon(result)  # the same video, encoded on its own thread while figures are drawn
    assert _mp4_frames(later.result(timeout=60).value) == CLIP_FRAMES


def test_the_frame_count_is_bounded_by_the_model(fake_models):
    fixed = views.frames_control(FAKE_CLIP_MODEL, 32)
    assert fixed.value == CLIP_FRAMES and not fixed.interactive and f"always takes {CLIP_FRAMES} frames" in fixed.info
    assert fixed.minimum <= CLIP_FRAMES <= fixed.maximum
    free = views.frames_control("fake_cbam", 64)
    assert free.interactive and free.value == free.maximum == 32 and free.minimum == 2


def test_image_model_runs_frame_by_frame_on_a_clip(fake_models, fake_inputs):
    _label, video, summary, result = views.analyse_clip(str(fake_inputs.clip), "fake_cbam", 4)
    assert summary["is_3d"] is False and len(summary["per_frame"]) == 4
    assert _mp4_frames(video) == 4
    shown = views.clip_views(result)
    assert isinstance(shown.over_time.value, Figure)
    with pytest.raises(InputError, match="between 1 and 4"):  # frames are counted from 1 on screen
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
    with pytest.raises(InputError, match=f"step must be between 1 and {plan.steps}"):
        views.conv3d_step(plan, plan.steps)
    _, chinese = views.conv3d_texts(plan, "zh")
    assert "参数量" in chinese and "82 个参数" in chinese
    with pytest.raises(VisualiserError, match="padded input"):
        views.conv3d_plan(str(fake_inputs.clip), Conv3dSettings(kernel_t=7, dilation_t=3))


def test_conv3d_from_a_clip_models_first_layer(fake_models, fake_inputs):
    sources = [value for _, value in catalogue.kernel_choices()]
    assert f"model:{FAKE_CLIP_MODEL}" in sources and "teaching:temporal_difference" in sources
    plan = views.conv3d_plan(str(fake_inputs.clip), Conv3dSettings(kernel=f"model:{FAKE_CLIP_MODEL}"))
    assert plan.spec.weight.shape == (8, 3, 3, 5, 5)
    facts = views.kernel_facts(f"model:{FAKE_CLIP_MODEL}", kernel_t=3, kernel_hw=3)  # what the sliders then show
    assert (facts.kernel_t, facts.kernel_hw, facts.fixed, facts.groups) == (3, 5, True, 8)
    assert "3×5×5" in facts.size_info and "0 to 7" in facts.channel_info
    teaching = views.kernel_facts("teaching:blur", kernel_t=5, kernel_hw=3)
    assert (teaching.kernel_t, teaching.fixed, teaching.groups) == (5, False, 1) and "one output channel" in (
        teaching.channel_info
    )


def test_compare_runs_one_model_per_attention_kind(fake_models, fake_inputs, monkeypatch):
    monkeypatch.setattr(catalogue, "compare_sets", lambda: {"embedded": ["fake_plain", "fake_se", "fake_cbam"]})
    columns = views.compare_models(str(fake_inputs.image), "embedded")
    assert [c.name for c in columns] == ["fake_plain", "fake_se", "fake_cbam"]
    assert [c.spatial is not None for c in columns] == [False, False, True]
    assert [c.overview is not None for c in columns] == [False, True, True]
    assert "has no attention module" in columns[0].overview_note and "SE blocks" in columns[1].spatial_note
    for column in columns:
        assert len(column.label) == 5 and column.failure is None
    with pytest.raises(InputError, match="unknown model group"):
        views.compare_models(str(fake_inputs.image), "nope")


def test_model_choices_say_where_the_weights_are(fake_models, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from visualiser.models.registry import get_spec
    from visualiser.models.weights.cache import installed_hub_path

    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # an empty hub cache: nothing is here
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    image = dict((value, text) for text, value in catalogue.model_choices("image"))
    assert "embedded" in image["fake_cbam"]
    assert image["seresnet50.a1_in1k"].endswith("· not on this machine: 112 MB download on first use")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # no download can happen: the command that brings them
    image = dict((value, text) for text, value in catalogue.model_choices("image", "zh"))
    assert image["seresnet50.a1_in1k"].endswith("· 不在本机：python -m visualiser fetch seresnet50.a1_in1k")
    assert catalogue.photo_model() is None or catalogue.photo_model() != "seresnet50.a1_in1k"
    installed = installed_hub_path(get_spec("seresnet50.a1_in1k").weights)  # as `fetch NAME --from FILE` puts it
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"weights")
    image = dict((value, text) for text, value in catalogue.model_choices("image"))
    assert image["seresnet50.a1_in1k"].endswith("· ImageNet, on this machine")
    assert catalogue.photo_model() == "seresnet50.a1_in1k"  # the switch is offered once it can run
    clip = dict((value, text) for text, value in catalogue.clip_model_choices())
    assert "embedded" in clip[FAKE_CLIP_MODEL] and "per frame" in clip["fake_cbam"]


def test_every_phrase_exists_in_both_languages_with_the_same_fields():
    import string

    from visualiser.render import words
    from visualiser.ui.views import phrases

    english_detail = {"error_input", "error_weights", "error_model"}  # Chinese leaves the message to the fold
    for en, zh in ((phrases.EN, phrases.ZH), (words.EN, words.ZH)):
        assert set(en) == set(zh)
        for key in en:
            fields = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
            chinese = {f for _, f, _, _ in string.Formatter().parse(zh[key]) if f}
            assert chinese == (fields - {"message"} if key in english_detail else fields), key


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

    from visualiser.ui.boundary import INTERNAL_ERROR, failure_message, guarded

    def user_mistake():
        raise InputError("that file is not an image")

    def bug():
        raise KeyError("secret internals")

    with pytest.raises(gr.Error) as shown, caplog.at_level("INFO", logger="visualiser.ui"):
        guarded(user_mistake)()
    assert shown.value.message == "that file is not an image" and not shown.value.print_exception
    assert [r.levelname for r in caplog.records] == ["INFO"] and caplog.records[0].exc_info is None  # one line
    caplog.clear()
    with pytest.raises(gr.Error) as hidden, caplog.at_level("ERROR", logger="visualiser.ui"):
        guarded(bug)()
    assert hidden.value.message == INTERNAL_ERROR and "secret" not in hidden.value.message
    assert "secret internals" in caplog.text and caplog.records[0].exc_info is not None  # the traceback

    class Request:
        session_hash = "session-1"

    scoped = guarded(user_mistake, scope="image")
    with pytest.raises(gr.Error) as quiet:
        scoped(Request())  # Gradio hands the request in as the last argument
    assert not quiet.value.visible  # no toast: the tab's banner says it
    message = failure_message(Request(), "image", "zh")
    assert "无法使用这个输入" in message.short and message.detail == "that file is not an image"
    assert failure_message(Request(), "image", "en").short == views.say("en", "error_internal")  # read once


def test_errors_are_said_in_a_short_sentence_with_the_detail_folded():
    from visualiser.models.weights.messages import WeightsUnavailableError

    long = WeightsUnavailableError("weights for 'shapes_se' are not on this machine ... " * 5, "shapes_se", "offline")
    message = views.user_message(long, "en")
    assert message.short == "The weights of **Shapes SE-ResNet-10 (embedded)** are not on this machine and cannot " \
        "be downloaded now." and message.detail == long.message  # fmt: skip
    assert "不在本机" in views.user_message(long, "zh").short
    short = views.user_message(InputError("zero.png is empty (0 bytes)"), "en")
    assert short.short == "zero.png is empty (0 bytes)." and short.detail == ""  # a file name keeps its case
    bug = views.user_message(KeyError("x"), "en")
    assert "bug" in bug.short and "x" not in bug.short


def test_reference_view_uses_the_models_statistics_when_present(fake_models, fake_inputs, tmp_path, monkeypatch):
    from visualiser.reference_stats import ReferenceStats, save_reference_stats

    result = views.image_result(str(fake_inputs.image), "fake_se")
    assert not views.reference_view(result).drawn  # no statistics for a fake model
    rng = np.random.default_rng(0)
    means = {b.name: rng.random((1, b.channels)).astype(np.float32) for b in result.blocks}
    overall = {b.name: np.full(b.channels, 0.5, np.float32) for b in result.blocks}
    stats = ReferenceStats(("disc",), np.array([10]), means, overall, {})
    save_reference_stats(stats, tmp_path / "fake_se.stats.npz")
    monkeypatch.setattr(paths, "MODELS_DIR", tmp_path)  # where pipeline.reference_stats looks
    figure = views.reference_view(result).value
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


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 7, 3), (33, 1, 3), (40, 60, 3), (40, 60, 4), (17, 23)])
def test_png_bytes_decode_to_the_same_pixels_in_pillow(shape):
    import io

    from PIL import Image

    from visualiser.ui.views.files import png_bytes

    rng = np.random.default_rng(sum(shape))
    noise = rng.integers(0, 256, shape, dtype=np.uint8)  # every row difference wraps around somewhere
    ramp = np.linspace(0, 255, shape[1], dtype=np.uint8).reshape((1, shape[1]) + (1,) * (len(shape) - 2))
    smooth = np.ascontiguousarray(np.broadcast_to(ramp, shape))  # a chart's flat rows and columns
    for picture in (noise, smooth, noise[:, ::-1]):  # the last one a strided view
        with Image.open(io.BytesIO(png_bytes(picture))) as decoded:
            assert decoded.format == "PNG" and decoded.size == (shape[1], shape[0])
            np.testing.assert_array_equal(np.asarray(decoded), picture)
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(noise.astype(np.float32))
