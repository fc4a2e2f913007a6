"""One user's session in a real browser (Debian's chromium through Playwright), start to finish.

Pick an example, see the predictions, charts and heatmaps, move the alpha slider and watch the overlay change,
download the bundle, analyse an example clip, animate an uploaded clip and scrub it. The first screenshot goes
to ``docs/screenshot.png`` for the README. Every model kind, every order of actions, the language switch and
the layouts are walked in ``test_browser_matrix.py``; both use ``tests/support/browser.py``.

Skipped when chromium is missing, unless ``VISUALISER_REQUIRE_BROWSER=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import Steps, chromium, open_page, open_tab, require_browser, serve, wait_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
README_SHOT = ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def app_url(fake_models) -> Iterator[str]:
    require_browser()
    from visualiser.ui.shell import build_demo

    with serve(build_demo()) as url:
        yield url


def _image_src(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def test_a_user_session_end_to_end(app_url, fake_inputs, tmp_path):
    steps = Steps("user-session")
    with chromium() as browser:
        page = open_page(browser, app_url)
        # 1. an example, then the analysis
        page.locator("#tab-image button.gallery-item").nth(1).click()
        wait_text(page, "#image-showing", "Showing.*_0.png|Showing.*_1.png", timeout=180_000)
        for selector in ("#image-overview img", "#image-overlay img", "#image-grid img", "#image-chart img"):
            page.locator(selector).first.wait_for()
        first = steps.check(page, "image analysed")
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(first, README_SHOT)

        # 2. alpha: a redraw from the stored result changes the overlay
        before = _image_src(page, "#image-overlay")
        page.locator("#image-alpha input[type=range]").focus()
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "old => { const i = document.querySelector('#image-overlay img'); return i && i.src !== old; }", arg=before
        )
        steps.check(page, "alpha moved")

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

        # 4. the Clip tab: an example clip, its timeline and a frame's heatmap
        open_tab(page, 1)
        clip_examples = page.locator("#tab-clip button.gallery-item")
        assert clip_examples.count() > 0
        clip_examples.nth(1).click()
        wait_text(page, "#clip-showing", "Showing", timeout=180_000)
        page.locator("#clip-frame-image img").first.wait_for()
        page.locator("#clip-timeline img").first.wait_for()
        steps.check(page, "clip")

        # 5. the 3D convolution: animate an uploaded clip and scrub to the first step
        open_tab(page, 2)
        page.locator("#conv3d-input button[aria-label=Clear]").first.click()  # the tab opened on an example clip
        page.locator("#conv3d-input input[type=file]").set_input_files(str(fake_inputs.clip))
        page.wait_for_timeout(500)
        page.locator("#conv3d-run").click()
        wait_text(page, "#conv3d-showing", "Showing.*square.mp4", timeout=180_000)
        page.locator("#conv3d-parameters").get_by_text("params").first.wait_for()
        step_before = _image_src(page, "#conv3d-step-image")
        page.locator("#conv3d-step input[type=range]").focus()
        page.keyboard.press("Home")
        page.wait_for_function(
            "old => { const i = document.querySelector('#conv3d-step-image img'); return i && i.src !== old; }",
            arg=step_before,
        )
        steps.check(page, "conv3d scrubbed")


def test_an_uploaded_network_is_its_sessions_own_and_its_file_name_is_text(app_url, tmp_path):
    """A fine-tuned 5-class CBAM net whose file name carries Markdown (``[tuned](x)``): uploaded, its gates drawn,
    its name shown as text (no link anywhere). Another visitor's page (its own browser context and session) does
    not list it, and a quantised (int8) file uploaded there gets the sentence the CLI prints."""
    import dataclasses

    from safetensors.torch import save_file

    from tests.support.hostile import int8_safetensors
    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.embedded import SHAPES_CONFIGS
    from visualiser.models.resnet import build_resnet
    from visualiser.models.uploads import unregister_checkpoint, uploaded_names

    net = with_seeded_weights(build_resnet(dataclasses.replace(SHAPES_CONFIGS["shapes_cbam"], num_classes=5)))
    checkpoint = tmp_path / "fine_[tuned](x).safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(checkpoint))
    labels = tmp_path / "labels.txt"
    labels.write_text("apple\nbanana\ncherry\ndate\nelder\n", encoding="utf-8")
    steps = Steps("own-checkpoint")
    with chromium() as browser:
        try:
            page = open_page(browser, app_url)
            page.locator("#image-own").get_by_text("Your own network").first.click()
            page.locator("#image-labels-file input[type=file]").set_input_files(str(labels))
            page.locator("#image-checkpoint input[type=file]").set_input_files(str(checkpoint))
            page.wait_for_timeout(800)
            page.locator("#image-load-checkpoint").click()
            wait_text(page, "#image-showing", r"Showing:.*5 classes, from fine_\[tuned\]\(x\)\.safetensors", 180_000)
            assert "Read from the keys" in page.locator("#image-checkpoint-info").inner_text()
            for selector in ("#image-overview img", "#image-grid img", "#image-overlay img", "#image-chart img"):
                page.locator(selector).first.wait_for()
            names = page.locator("#image-predictions").inner_text()
            assert sum(fruit in names for fruit in ("apple", "banana", "cherry", "date", "elder")) == 5
            assert "your checkpoint fine_[tuned](x).safetensors" in page.locator("#image-domain").inner_text()
            assert page.locator("#image-showing a, #image-domain a, #image-checkpoint-info a").count() == 0
            steps.check(page, "own checkpoint, a Markdown file name")

            other = open_page(browser, app_url)  # another visitor at the same time: its own context and session
            other.locator("#image-model input").click()
            listed = other.get_by_role("option").all_inner_texts()
            assert listed and not any("fine_" in o or "5 classes" in o for o in listed), listed
            other.keyboard.press("Escape")
            other.locator("#image-own").get_by_text("Your own network").first.click()
            other.locator("#image-checkpoint input[type=file]").set_input_files(str(int8_safetensors(tmp_path)))
            other.wait_for_timeout(800)
            other.locator("#image-load-checkpoint").click()
            other.get_by_text("quantised_int8.safetensors holds int8 tensors").first.wait_for()
        finally:
            for name in uploaded_names():
                unregister_checkpoint(name)
