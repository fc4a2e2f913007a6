"""The app walked as users walk it, in a real browser, on every kind of model (issue 15's matrix).

One app (``app``): the embedded plain, SE and CBAM shape networks and the motion network, plus an ImageNet
network (SE-ResNet-50) installed offline with ``python -m visualiser fetch NAME --from FILE`` from deterministic
weights; the hub is offline (``HF_HUB_OFFLINE=1``), so every other ImageNet network is absent. Two more apps are
``visualiser.launch(my_model)`` on a user's SE-only and CBAM networks. The sequences: analyse, analyse again,
switch model, analyse; every display option before and after an analysis; a model whose weights are absent;
an uploaded checkpoint (.safetensors, then a .pth of the same network); a real photo and clip with the switch
to a photo model; the live switch to 简体中文 with an analysis on every tab; the layout at 1440 and 1024 px.

After every step (``Steps.check``) a screenshot goes to ``artifacts/browser/`` and the page must be sound:
nothing reads "Error"/"错误", every visible figure is drawn (a view a model cannot fill is hidden and its note
says why), no label covers a figure, no figure is squeezed or wider than its panel.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import (
    NARROW,
    Steps,
    choose,
    chromium,
    open_page,
    open_tab,
    require_browser,
    serve,
    settle,
    switch_language,
    visible,
    wait_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "visualiser" / "assets" / "examples"
PHOTO = EXAMPLES / "photos" / "chelsea.jpg"
REAL_CLIP = EXAMPLES / "clips" / "chelsea_pan.mp4"
IMAGENET = "seresnet50.a1_in1k"
IMAGENET_TITLE = re.escape("SE-ResNet-50 (timm, A1 recipe)")  # a pattern: banners are matched as regexes
ABSENT_TITLE = "ECA-ResNet-50-D"


@pytest.fixture(scope="module")
def offline_with_one_imagenet_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """An empty hub cache, the hub offline, and SE-ResNet-50 installed from a file as an offline user would."""
    from huggingface_hub import constants
    from safetensors.torch import save_file

    from visualiser.cli import main
    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.registry import get_spec
    from visualiser.ui import views

    root = tmp_path_factory.mktemp("offline")
    saved = {k: os.environ.get(k) for k in ("VISUALISER_CACHE", "HF_HUB_OFFLINE")}
    saved_cache, saved_offline = constants.HF_HUB_CACHE, constants.HF_HUB_OFFLINE
    os.environ["VISUALISER_CACHE"] = str(root / "cache")
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_CACHE, constants.HF_HUB_OFFLINE = str(root / "hub"), True
    weights = root / "model.safetensors"
    net = with_seeded_weights(get_spec(IMAGENET).builder())
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(weights))
    assert main(["fetch", IMAGENET, "--from", str(weights)]) == 0
    views.clear_caches()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        constants.HF_HUB_CACHE, constants.HF_HUB_OFFLINE = saved_cache, saved_offline
        views.clear_caches()


@pytest.fixture(scope="module")
def app(offline_with_one_imagenet_model) -> Iterator[str]:
    require_browser()
    from tests.support.fakes import fakes_hidden
    from visualiser.ui.shell import build_demo

    with fakes_hidden(), serve(build_demo()) as url:  # the shipped models only, whatever ran before
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    require_browser()
    with chromium() as b:
        yield b


def _analyse(page, expect: str) -> str:
    """Press Analyse on the Image tab and wait for the banner to show this model's result (or its failure).

    The analysis joins the queue only after the pending step has cleared the old result from the banner, so once
    its request is sent, the banner's next match is this analysis's own.
    """
    with page.expect_request(lambda r: "/queue/join" in r.url, timeout=60_000):
        page.locator("#image-run").click()
    shown = wait_text(page, "#image-showing", expect, timeout=180_000)
    settle(page)  # the banner is drawn first; the notes and notices render a moment later
    return shown


def _press(page, button: str, banner: str, expect: str) -> str:
    """Press a tab's run button and wait for its banner to show the new result (see ``_analyse``)."""
    with page.expect_request(lambda r: "/queue/join" in r.url, timeout=60_000):
        page.locator(button).click()
    shown = wait_text(page, banner, expect, timeout=300_000)
    settle(page)  # the banner is drawn first; the notes and notices render a moment later
    return shown


def _compare(page, expect: str) -> str:
    """Press Compare and wait until the streamed comparison has finished."""
    page.locator("#compare-run").click()
    wait_text(page, "#compare-showing", "Comparing|正在")
    return wait_text(page, "#compare-showing", expect, timeout=300_000)


def _upload(page, selector: str, path: Path) -> None:
    clear = page.locator(f"{selector} button[aria-label='Remove Image'], {selector} button[aria-label=Clear]")
    if clear.count() and clear.first.is_visible():
        clear.first.click()
    page.locator(f"{selector} input[type=file]").set_input_files(str(path))
    page.wait_for_timeout(600)


# --- the Image tab on every model kind ------------------------------------------------------------------------


def test_image_tab_on_every_model_kind_in_every_order(app, browser):
    steps = Steps("image-models")
    page = open_page(browser, app)
    steps.check(page, "arrival")
    # display options before any result of the chosen model: nothing happens, nothing breaks
    choose(page, "image-model", "Shapes SE-ResNet-10")
    wait_text(page, "#image-showing", "No result for this input")
    steps.check(page, "se chosen, no result yet")
    # SE: analyse, analyse again (issue 15, item 1: the second press broke every view)
    _analyse(page, "Showing: Shapes SE-ResNet-10")
    assert visible(page, "#image-spatial-note") and not visible(page, "#image-grid")
    wait_text(page, "#image-spatial-note", 'SE blocks gate channels only')
    steps.check(page, "se analysed")
    _analyse(page, "Showing: Shapes SE-ResNet-10")
    steps.check(page, "se analysed again")
    page.locator("#image-internals-fold").get_by_text("Inside the block").first.click()
    wait_text(page, "#image-spatial-internals-note", "gates channels only")
    steps.check(page, "se internals say there is no spatial side")
    # the plain model: every panel says why it is empty; Grad-CAM still works, with its class
    choose(page, "image-model", "Shapes ResNet-10 (no attention")
    _analyse(page, "Showing: Shapes ResNet-10")
    wait_text(page, "#image-channel-note", 'has no attention module')
    page.locator("#image-gradcam-fold").get_by_text("Grad-CAM beside").first.click()
    page.locator("#image-gradcam-run").click()
    page.locator("#image-gradcam img").first.wait_for()
    assert "shown alone" in wait_text(page, "#image-agreement", "shown alone")
    page.locator("#image-intervention-fold").get_by_text("Intervention").first.click()
    wait_text(page, "#image-intervention-note", 'Nothing to intervene on')
    steps.check(page, "plain model with grad-cam")
    # CBAM after the plain model (item 1 again), then every display option after a result
    choose(page, "image-model", "Shapes CBAM-ResNet-10")
    _analyse(page, "Showing: Shapes CBAM-ResNet-10")
    _analyse(page, "Showing: Shapes CBAM-ResNet-10")
    steps.check(page, "cbam analysed twice")
    overlay = page.locator("#image-overlay img").first.get_attribute("src")
    page.locator("#image-normalise").get_by_text("shared across blocks").click()
    page.wait_for_function(
        "old => document.querySelector('#image-overlay img')?.src !== old", arg=overlay, timeout=60_000
    )
    page.locator("#image-sort input").click()
    choose(page, "image-cmap", "magma")
    page.locator("#image-alpha input[type=range]").focus()
    page.keyboard.press("ArrowRight")
    choose(page, "image-block", "layer1.0.se")
    steps.check(page, "cbam after every display option")
    # the mute slider is bounded by the selected block's channels
    assert page.locator("#image-mute input[type=number]").get_attribute("max") == "16"
    page.locator("#image-intervene").click()
    wait_text(page, "#image-intervention-text", "Top-1")
    steps.check(page, "cbam intervention")


def test_absent_weights_are_known_before_the_click_and_explained_after(app, browser):
    steps = Steps("absent-weights")
    page = open_page(browser, app)
    page.locator("#image-model input").click()
    option = page.get_by_role("option", name=ABSENT_TITLE, exact=False).first
    assert "not on this machine" in option.inner_text()  # known before anyone presses Analyse
    option.click()
    text = _analyse(page, "No result:")
    assert "are not on this machine and cannot be downloaded now" in text
    assert page.locator("#image-predictions").is_hidden()  # nothing left over from the earlier result
    steps.check(page, "absent model refused in the banner")
    page.locator("#image-showing summary").click()  # the detail, folded: the commands that bring the weights
    assert "--from" in page.locator("#image-showing details").inner_text()
    steps.check(page, "detail unfolded")
    page.wait_for_timeout(1500)  # the sentence stays: no toast that closes
    assert "No result:" in page.locator("#image-showing").inner_text()
    choose(page, "image-model", "Shapes CBAM-ResNet-10")
    _analyse(page, "Showing: Shapes CBAM-ResNet-10")
    steps.check(page, "back to an embedded model")


def test_a_real_photo_gets_the_notice_and_a_switch_to_a_photo_model_that_runs(app, browser):
    steps = Steps("photo-and-imagenet")
    page = open_page(browser, app)
    _upload(page, "#image-input", PHOTO)
    wait_text(page, "#image-showing", "No result for this input")
    _analyse(page, "chelsea.jpg")
    notice = page.locator("#image-notice").inner_text()
    assert "Outside what Shapes CBAM-ResNet-10" in notice and "still exactly what the network computed" in notice
    assert visible(page, "#image-switch")  # SE-ResNet-50's weights are installed: the switch can run
    steps.check(page, "photo on the shapes model")
    page.locator("#image-switch").click()
    wait_text(page, "#image-showing", f"Showing: {IMAGENET_TITLE}", timeout=180_000)
    settle(page)
    assert not visible(page, "#image-notice")
    wait_text(page, "#image-spatial-note", 'SE blocks gate channels only')
    steps.check(page, "photo on the imagenet se model")
    _analyse(page, f"Showing: {IMAGENET_TITLE}")
    steps.check(page, "imagenet analysed again")


def test_an_uploaded_checkpoint_twice_in_two_formats(app, browser, tmp_path):
    """Issue 15, item 1: a .pth of a network whose .safetensors was analysed before broke every view."""
    import torch
    from safetensors.torch import save_file

    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.embedded import SHAPES_CONFIGS
    from visualiser.models.resnet import build_resnet
    from visualiser.models.uploads import unregister_checkpoint, uploaded_names

    net = with_seeded_weights(build_resnet(dataclasses.replace(SHAPES_CONFIGS["shapes_cbam"], num_classes=5)))
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    safetensors_file, pth_file = tmp_path / "finetuned.safetensors", tmp_path / "finetuned.pth"
    save_file(state, str(safetensors_file))
    torch.save(state, pth_file)
    labels = tmp_path / "labels.txt"
    labels.write_text("apple\nbanana\ncherry\ndate\nelder\n", encoding="utf-8")
    steps = Steps("uploaded-checkpoint")
    page = open_page(browser, app)
    page.locator("#image-own").get_by_text("Your own network").first.click()
    page.locator("#image-labels-file input[type=file]").set_input_files(str(labels))
    try:
        for checkpoint in (safetensors_file, pth_file):
            clear = page.locator("#image-checkpoint button[aria-label=Clear]")
            if clear.count() and clear.first.is_visible():
                clear.first.click()
            page.locator("#image-checkpoint input[type=file]").set_input_files(str(checkpoint))
            page.wait_for_timeout(800)
            page.locator("#image-load-checkpoint").click()
            wait_text(page, "#image-showing", f"Showing:.*from {checkpoint.name}", timeout=180_000)
            settle(page)
            names = page.locator("#image-predictions").inner_text()
            assert sum(fruit in names for fruit in ("apple", "banana", "cherry", "date", "elder")) == 5
            steps.check(page, f"checkpoint {checkpoint.suffix}")
            _analyse(page, "Showing:")
            steps.check(page, f"checkpoint {checkpoint.suffix} analysed again")
    finally:
        for name in uploaded_names():
            unregister_checkpoint(name)


# --- the other tabs, and the live switch to Chinese ------------------------------------------------------------


def test_every_tab_after_a_live_switch_to_chinese(app, browser):
    steps = Steps("chinese-live")
    page = open_page(browser, app)
    switch_language(page, "简体中文")
    wait_text(page, "#image-showing", "当前显示")
    assert page.locator("#image-run").inner_text().strip() == "分析"
    steps.check(page, "image tab in chinese")
    _analyse(page, "当前显示")
    steps.check(page, "image analysed in chinese")
    open_tab(page, 1)
    wait_text(page, "#clip-showing", "当前显示")
    _press(page, "#clip-run", "#clip-showing", "当前显示.*帧")
    steps.check(page, "clip analysed in chinese")
    open_tab(page, 2)
    wait_text(page, "#conv3d-showing", "当前显示")
    _press(page, "#conv3d-run", "#conv3d-showing", "当前显示.*格子")
    assert "参数" in page.locator("#conv3d-parameters").inner_text()
    steps.check(page, "conv3d animated in chinese")
    open_tab(page, 3)
    _compare(page, "已对比")
    steps.check(page, "compare in chinese")
    open_tab(page, 4)
    wait_text(page, "#learn-0", "挤压")
    steps.check(page, "learn in chinese")
    tabs = [t.inner_text() for t in page.locator("button[role=tab]").all()]
    assert tabs == ["图像", "视频片段", "3D 卷积", "对比", "学习"]
    switch_language(page, "English")
    wait_text(page, "#learn-0", "Squeeze")
    open_tab(page, 0)
    wait_text(page, "#image-showing", "Showing")
    steps.check(page, "back in english")


def test_clip_tab_bounds_and_the_switch_for_a_real_clip(app, browser):
    steps = Steps("clip")
    page = open_page(browser, app)
    open_tab(page, 1)
    wait_text(page, "#clip-showing", "Showing")
    frames = page.locator("#clip-frames input[type=number]")
    assert frames.is_disabled() and frames.input_value() == "16"  # a 3-D model takes its own frame count
    assert "always takes 16 frames" in page.locator("#clip-frames").inner_text()
    steps.check(page, "arrival")
    _press(page, "#clip-run", "#clip-showing", "Showing")
    _press(page, "#clip-run", "#clip-showing", "Showing")
    steps.check(page, "analysed twice")
    frame = page.locator("#clip-frame input[type=number]")
    assert frame.get_attribute("min") == "1" and frame.get_attribute("max") == "16"  # counted as the captions count
    before = page.locator("#clip-frame-image img").first.get_attribute("src")
    page.locator("#clip-frame input[type=range]").focus()
    page.keyboard.press("End")
    page.wait_for_function(
        "old => document.querySelector('#clip-frame-image img')?.src !== old", arg=before, timeout=60_000
    )
    assert frame.input_value() == "16"  # the last frame is frame 16, as its own caption says ("frame 16/16")
    steps.check(page, "scrubbed to the last frame")
    clear = page.locator("#clip-input button[aria-label=Clear]")
    if clear.count():
        clear.first.click()
    page.locator("#clip-input input[type=file]").set_input_files(str(REAL_CLIP))
    page.wait_for_timeout(800)
    _press(page, "#clip-run", "#clip-showing", "chelsea_pan")
    wait_text(page, "#clip-notice", 'Outside what')
    assert visible(page, "#clip-switch")
    steps.check(page, "real clip on the motion model")
    page.locator("#clip-switch").click()  # leads to a model with attention: SE-ResNet-50 frame by frame
    wait_text(page, "#clip-showing", f"Showing: {IMAGENET_TITLE}", timeout=300_000)
    assert page.locator("#clip-frames input[type=number]").is_enabled()
    steps.check(page, "real clip on the photo model frame by frame")


def test_conv3d_controls_follow_the_kernel_in_use(app, browser):
    steps = Steps("conv3d")
    page = open_page(browser, app)
    open_tab(page, 2)
    wait_text(page, "#conv3d-showing", "Showing")
    out_channel = page.locator("#conv3d-out-channel input")
    assert out_channel.is_disabled()  # a teaching kernel has one output channel
    steps.check(page, "arrival")
    choose(page, "conv3d-kernel", "first Conv3d layer")
    wait_text(page, "#conv3d-size-note", "first Conv3d layer is")
    note = page.locator("#conv3d-size-note").inner_text()
    kt, kh = page.locator("#conv3d-kernel-t input[type=number]"), page.locator("#conv3d-kernel-hw input[type=number]")
    assert f"{kt.input_value()}×{kh.input_value()}×{kh.input_value()}" in note  # the sliders show the real kernel
    assert kt.is_disabled() and out_channel.is_enabled()
    assert int(out_channel.get_attribute("max")) >= 1
    _press(page, "#conv3d-run", "#conv3d-showing", "Showing.*first Conv3d")
    step = page.locator("#conv3d-step input[type=number]")
    assert step.get_attribute("min") == "1" and step.input_value() == step.get_attribute("max")
    steps.check(page, "a model's first layer animated")


def test_compare_streams_names_the_failed_columns_and_gives_the_notice(app, browser):
    steps = Steps("compare")
    page = open_page(browser, app)
    open_tab(page, 3)
    wait_text(page, "#compare-showing", "Compared")
    steps.check(page, "arrival")
    _upload(page, "#compare-input", PHOTO)
    _compare(page, "Compared: chelsea.jpg")
    wait_text(page, "#compare-notice-1", 'Outside what')  # a photo on the shapes networks
    steps.check(page, "a photo on the embedded networks")
    page.locator("#compare-group").get_by_text("ImageNet").click()
    banner = _compare(page, "Compared: chelsea.jpg")
    assert "could not run" in banner  # the absent networks are counted ...
    columns = [c for c in page.locator("[id^=compare-column-]").all() if c.is_visible()]
    failed = [c for c in columns if "Could not run here" in c.inner_text()]
    assert failed and len(failed) < len(columns)  # ... and named in their own columns; the installed one is shown
    steps.check(page, "imagenet group with absent networks")


# --- a user's own network through visualiser.launch ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["se", "cbam"])
def test_launch_with_a_users_network(browser, kind):
    """The first Analyse on an SE-only network broke the page for good (its spatial section is hidden)."""
    require_browser()
    import torch

    import visualiser
    from tests.support.browser import free_port
    from tests.support.replica_nets import replica_net
    from tests.support.replicas import OfficialCBAM, TimmSEModule
    from visualiser.models.registry import Preprocess
    from visualiser.pipeline import unregister_module

    torch.manual_seed(0)
    factory = (lambda c: TimmSEModule(c, max(1, c // 4))) if kind == "se" else (lambda c: OfficialCBAM(c, 4))
    net = replica_net(factory, classes=3)
    demo = visualiser.launch(
        net, preprocess=Preprocess(input_size=64, crop_pct=1.0), labels=["apple", "banana", "cherry"],
        title=f"My {kind.upper()} net", block=False, server_port=free_port(), quiet=True,
    )  # fmt: skip
    steps = Steps(f"launch-{kind}")
    try:
        page = open_page(browser, demo.local_url)
        steps.check(page, "arrival")
        _analyse(page, f"Showing: My {kind.upper()} net")
        steps.check(page, "first analysis")
        _analyse(page, f"Showing: My {kind.upper()} net")
        if kind == "se":
            wait_text(page, "#image-spatial-note", 'gate channels only')
        else:
            page.locator("#image-grid img").first.wait_for()
        steps.check(page, "analysed again")
    finally:
        demo.close()
        unregister_module(visualiser.register_module(net))


# --- layout at 1024 px ---------------------------------------------------------------------------------------


def test_every_tab_at_1024_px(app, browser):
    steps = Steps("narrow-1024")
    page = open_page(browser, app, width=NARROW)
    steps.check(page, "image")
    for index, banner, pattern in ((1, "#clip-showing", "Showing"), (2, "#conv3d-showing", "Showing"),
                                   (3, "#compare-showing", "Compared")):  # fmt: skip
        open_tab(page, index)
        wait_text(page, banner, pattern)
        steps.check(page, ["clip", "conv3d", "compare"][index - 1])
    page.locator("button[role=tab]").nth(0).click()
    page.locator("#image-internals-fold").get_by_text("Inside the block").first.click()
    page.locator("#image-channel-internals img, #image-channel-internals canvas").first.wait_for()
    steps.check(page, "image internals open")
