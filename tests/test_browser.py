"""The app in a real browser (Debian's chromium through Playwright): what a user does, start to finish.

Open the app, pick an example (or upload one), see the predictions, charts and heatmap, move the alpha
slider and watch the overlay change, download the bundle, analyse an example clip, compare the plain, SE
and CBAM networks on one image, run the 3D-convolution animation and scrub it, and switch the interface to
Chinese. Screenshots go to ``artifacts/screenshots/`` and the first one to
``docs/screenshot.png`` for the README.

Skipped when chromium is missing, unless ``VISUALISER_REQUIRE_BROWSER=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
README_SHOT = ROOT / "docs" / "screenshot.png"
TIMEOUT_MS = 30_000


def _require_browser() -> None:
    required = os.environ.get("VISUALISER_REQUIRE_BROWSER") == "1"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if required:
            pytest.fail("playwright is not installed but VISUALISER_REQUIRE_BROWSER=1")
        pytest.skip("playwright is not installed")
    if not CHROMIUM.is_file():
        if required:
            pytest.fail(f"{CHROMIUM} is missing but VISUALISER_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(fake_models) -> Iterator[str]:
    _require_browser()
    from visualiser.ui.shell import build_demo, launch_kwargs

    demo = build_demo()
    kwargs = launch_kwargs() | {"server_port": _free_port(), "server_name": "127.0.0.1", "quiet": True}
    _, url, _ = demo.launch(prevent_thread_lock=True, **kwargs)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(app_url) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"],
        )  # fmt: skip
        context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 2400}, accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(app_url)
        tab.locator("#image-run").wait_for()
        try:
            yield tab
        finally:
            browser.close()


def _image_src(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def _shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _banner(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def test_every_tab_is_alive_on_arrival(page):
    """Before any click, each tab shows a finished example result; the 3D tab its animation and scrubber."""
    page.wait_for_function("document.querySelector('#image-showing').innerText.includes('Showing')")
    assert "arrow_0.png" in _banner(page, "#image-showing") or "_0.png" in _banner(page, "#image-showing")
    assert "What this model knows" in page.locator("#image-domain").inner_text()
    for selector in ("#image-overview img", "#image-grid img", "#image-chart img"):
        page.locator(selector).first.wait_for()
    label = page.locator("#image-overview label, #image-overview [data-testid=block-label]").first.inner_text()
    assert "Shapes CBAM-ResNet-10" in label  # each view's title names the model it shows
    _shot(page, "00-image-on-arrival")
    page.locator("button[role=tab]").nth(1).click()
    page.wait_for_function("document.querySelector('#clip-showing').innerText.includes('frames at')")
    page.locator("#clip-video video").first.wait_for()
    page.locator("button[role=tab]").nth(2).click()
    page.wait_for_function("document.querySelector('#conv3d-showing').innerText.includes('Showing')")
    page.locator("#conv3d-video video").first.wait_for()
    page.locator("#conv3d-step-image img").first.wait_for()
    assert page.locator("#conv3d-parameters").get_by_text("params").count() > 0
    _shot(page, "00-conv3d-on-arrival")
    page.locator("button[role=tab]").nth(3).click()
    page.locator("#compare-overview-0 img").first.wait_for()
    page.locator("button[role=tab]").nth(0).click()


def test_a_photo_on_the_shapes_model_says_it_is_outside_what_the_network_learned(page):
    """Issue 11, item 1: a real photo through the generated-shapes network gets the notice and the switch."""
    photo = ROOT / "visualiser" / "assets" / "examples" / "photos" / "chelsea.jpg"
    page.locator("#image-input button[aria-label='Remove Image']").first.click()
    page.locator("#image-input input[type=file]").set_input_files(str(photo))
    page.wait_for_function("document.querySelector('#image-showing').innerText.includes('No result for this input')")
    page.locator("#image-run").click()
    page.wait_for_function("document.querySelector('#image-showing').innerText.includes('chelsea.jpg')")
    notice = page.locator("#image-notice")
    notice.wait_for(state="visible")
    text = notice.inner_text()
    assert "Outside what Shapes CBAM-ResNet-10" in text and "8 generated shapes" in text
    assert "still exactly what the network computed" in text
    page.locator("#image-switch").wait_for(state="visible")
    _close_toasts(page)
    _shot(page, "09-photo-on-the-shapes-model")
    # a shipped generated shape gets no notice
    page.locator("#tab-image button.gallery-item").first.click()
    page.wait_for_function("document.querySelector('#image-showing').innerText.includes('_0.png')")
    page.locator("#image-overview img").first.wait_for()
    assert not page.locator("#image-notice").is_visible()


def _close_toasts(page) -> None:
    """Dismiss error / info toasts left by an earlier step so a screenshot shows only this one's state."""
    for button in page.locator(".toast-close").all():
        if button.is_visible():
            button.click()


def test_no_view_outlives_a_failed_switch_of_model(page):
    """Analyse, switch to a model whose weights cannot be fetched here: nothing of the old result stays."""
    page.locator("#image-overview img").first.wait_for()
    page.locator("#image-model input").click()
    page.get_by_role("option", name="SE-ResNet-50 (timm, A1 recipe)", exact=False).first.click()
    page.wait_for_function("document.querySelector('#image-showing').innerText.includes('No result for this input')")
    assert page.locator("#image-overview img").count() == 0  # cleared as soon as the model changed
    page.locator("#image-run").click()
    page.wait_for_function("document.querySelector('#image-showing').innerText.includes('last analysis failed')")
    page.get_by_text("are not on this machine").first.wait_for()  # the error says why (and what to do)
    for selector in ("#image-overview img", "#image-grid img", "#image-overlay img", "#image-chart img"):
        assert page.locator(selector).count() == 0, selector
    assert page.locator("#image-predictions .output-class").count() == 0
    assert "--from" in page.get_by_text("are not on this machine").first.inner_text()  # how to bring it by hand
    _shot(page, "07-failed-switch-no-stale-view")
    page.locator("#image-model input").click()
    page.get_by_role("option", name="Shapes CBAM-ResNet-10 (embedded) · embedded").click()
    page.locator("#image-run").click()
    page.locator("#image-overview img").first.wait_for()


def test_a_checkpoint_uploaded_in_the_app_shows_its_gates(page, tmp_path):
    """A fine-tuned 5-class CBAM net saved as safetensors: uploaded, its architecture read, its gates drawn."""
    import dataclasses

    from safetensors.torch import save_file

    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.embedded import SHAPES_CONFIGS
    from visualiser.models.resnet import build_resnet
    from visualiser.models.uploads import unregister_checkpoint, uploaded_names

    net = with_seeded_weights(build_resnet(dataclasses.replace(SHAPES_CONFIGS["shapes_cbam"], num_classes=5)))
    checkpoint = tmp_path / "finetuned.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(checkpoint))
    labels = tmp_path / "labels.txt"
    labels.write_text("apple\nbanana\ncherry\ndate\nelder\n", encoding="utf-8")
    page.locator("#image-own").get_by_text("Your own network").first.click()
    page.locator("#image-checkpoint input[type=file]").set_input_files(str(checkpoint))
    page.locator("#image-labels-file input[type=file]").set_input_files(str(labels))
    page.wait_for_timeout(500)
    page.locator("#image-load-checkpoint").click()
    page.wait_for_function(
        "document.querySelector('#image-showing').innerText.includes('5 classes, from finetuned.safetensors')"
    )
    assert "Read from the keys" in page.locator("#image-checkpoint-info").inner_text()
    for selector in ("#image-overview img", "#image-grid img", "#image-overlay img", "#image-chart img"):
        page.locator(selector).first.wait_for()
    names = page.locator("#image-predictions").inner_text()
    assert sum(fruit in names for fruit in ("apple", "banana", "cherry", "date", "elder")) == 5
    assert "your checkpoint finetuned.safetensors" in page.locator("#image-domain").inner_text()
    _close_toasts(page)
    _shot(page, "08-own-checkpoint")
    for name in uploaded_names():
        unregister_checkpoint(name)
    page.locator("#image-own").get_by_text("Your own network").first.click()  # fold the field away again
    page.locator("#image-model input").click()
    page.get_by_role("option", name="Shapes CBAM-ResNet-10 (embedded) · embedded").click()


def test_a_user_session_end_to_end(page, fake_inputs, tmp_path):
    # 1. an example (or an upload when the project ships none), then the analysis
    examples = page.locator("#tab-image button.gallery-item")
    if examples.count():
        examples.first.click()
    else:
        page.locator("input[type=file]").first.set_input_files(str(fake_inputs.image))
        page.locator("#image-run").click()
    page.locator("#image-predictions .output-class, #image-predictions h2").first.wait_for()
    for selector in ("#image-overview img", "#image-overlay img", "#image-grid img", "#image-chart img"):
        page.locator(selector).first.wait_for()
    page.wait_for_timeout(500)
    first = _shot(page, "01-image-analysed")
    README_SHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(first, README_SHOT)

    # 2. alpha: a redraw from the stored result changes the overlay
    before = _image_src(page, "#image-overlay")
    slider = page.locator("#image-alpha input[type=range]")
    slider.focus()
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "old => { const i = document.querySelector('#image-overlay img'); return i && i.src !== old; }", arg=before
    )
    _shot(page, "02-alpha-moved")

    # 3. the bundle download
    page.locator("#image-bundle-prepare").click()
    download_button = page.locator("#image-bundle-download")
    download_button.wait_for(state="visible")
    with page.expect_download() as info:
        download_button.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert {"manifest.json", "result.json", "result.npz"} <= set(archive.namelist())

    # 4. the Clip tab: an example clip through the default clip model, its timeline and a frame's heatmap
    page.locator("button[role=tab]").nth(1).click()
    clip_examples = page.locator("#tab-clip button.gallery-item")
    assert clip_examples.count() > 0
    clip_examples.first.click()
    page.locator("#clip-predictions .output-class, #clip-predictions h2").first.wait_for()
    page.locator("#clip-frame-image img").first.wait_for()
    page.locator("#clip-timeline img, #clip-timeline canvas, #clip-timeline svg").first.wait_for()
    _shot(page, "03-clip")

    # 5. Compare: one image through the plain, SE and CBAM networks side by side
    page.locator("button[role=tab]").nth(3).click()
    page.locator("#tab-compare button.gallery-item").first.click()
    page.locator("#compare-run").click()
    for i in range(3):
        page.locator(f"#compare-overview-{i} img").first.wait_for()
    sources = {_image_src(page, f"#compare-overview-{i}") for i in range(3)}
    assert len(sources) == 3  # three networks, three different pictures
    _shot(page, "04-compare")

    # 6. the 3D convolution: animate the clip and scrub to another step
    page.locator("button[role=tab]").nth(2).click()
    page.locator("#conv3d-input button[aria-label=Clear]").first.click()  # the tab opened on an example clip
    page.locator("#conv3d-input input[type=file]").set_input_files(str(fake_inputs.clip))
    page.wait_for_timeout(500)
    page.locator("#conv3d-run").click()
    page.locator("#conv3d-step-image img").wait_for()
    page.locator("#conv3d-parameters").get_by_text("params").first.wait_for()
    step_before = _image_src(page, "#conv3d-step-image")
    page.locator("#conv3d-step input[type=range]").focus()
    page.keyboard.press("Home")
    page.wait_for_function(
        "old => { const i = document.querySelector('#conv3d-step-image img'); return i && i.src !== old; }",
        arg=step_before,
    )
    _shot(page, "05-conv3d")

    # 7. switch the interface to Chinese in Settings, and the Learn text with its own switch
    page.get_by_text("Settings").first.click()
    page.get_by_role("combobox", name="Language").click()
    page.get_by_role("option", name="简体中文").click()
    page.keyboard.press("Escape")  # closes the option list; the panel has its own close button
    page.locator("[role=dialog] .banner-wrap button").first.click()
    page.locator("[role=dialog]").wait_for(state="detached")
    page.get_by_role("button", name="生成动画").wait_for()
    page.locator("button[role=tab]").nth(4).click()
    page.locator("#learn-language").get_by_text("中文").click()
    page.locator("#learn-0").get_by_text("挤压").first.wait_for()
    _shot(page, "06-chinese")
    page.locator("button[role=tab]").nth(0).click()
    assert page.locator("#image-run").inner_text().strip() == "分析"
