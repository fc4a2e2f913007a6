"""What the browser bench does on the page: each user action, how it is prepared, and when it counts as finished.

A ``Flow`` prepares its action without timing it (pick the model, upload a new input, open an accordion), then
the watcher (``watch.js``) is armed, the action is performed (a click, a key press, an option picked) and the
time runs from that input event to the first animation frame at which ``Finished`` holds:

* no Gradio progress indicator is shown anywhere in the tab (every ``[data-testid=status-tracker]`` is hidden);
* the tab's banner names the new input (each action gets a file with a unique name), where the flow has one;
* every ``required`` view is on screen with a picture or video that was not there before the action and has
  loaded (an ``<img>`` complete with pixels, a ``<video>`` with its current frame decoded);
* every ``checked`` view that is on screen shows new, loaded media or none (views in closed accordions are not
  in the page at all, so they are not waited for);
* every ``texts`` element on screen has text (the predictions).

Only ``elem_id``s name things (see ``SELECTORS``), plus Gradio's own markup for the file input, the image's
"Remove Image" / the video's "Clear" button and the options of a dropdown. A change of the UI that drops one
makes the flow fail with what it could not find, never measure something else.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Every element the bench touches or waits for. The UI keeps these elem_ids (listed for its authors).
SELECTORS = {
    "image_tab": "#tab-image",
    "image_input": "#image-input",
    "image_model": "#image-model",
    "image_run": "#image-run",
    "image_banner": "#image-showing",
    "image_predictions": "#image-predictions",
    "image_overview": "#image-overview",
    "image_barcode": "#image-barcode",
    "image_chart": "#image-chart",
    "image_overlay": "#image-overlay",
    "image_grid": "#image-grid",
    "image_reference": "#image-reference",
    "image_block": "#image-block",
    "image_sort": "#image-sort",
    "image_gradcam_fold": "#image-gradcam-fold",
    "image_alpha": "#image-alpha",
    "image_gradcam_run": "#image-gradcam-run",
    "image_gradcam": "#image-gradcam",
    "clip_tab": "#tab-clip",
    "clip_input": "#clip-input",
    "clip_run": "#clip-run",
    "clip_banner": "#clip-showing",
    "clip_predictions": "#clip-predictions",
    "clip_video": "#clip-video",
    "clip_frame_image": "#clip-frame-image",
    "clip_frame_chart": "#clip-frame-chart",
    "clip_timeline": "#clip-timeline",
    "clip_stability": "#clip-stability",
    "conv3d_tab": "#tab-conv3d",
    "conv3d_input": "#conv3d-input",
    "conv3d_run": "#conv3d-run",
    "conv3d_banner": "#conv3d-showing",
    "conv3d_video": "#conv3d-video",
    "conv3d_step_image": "#conv3d-step-image",
    "conv3d_parameters": "#conv3d-parameters",
    "echo_input": "#echo-input",
    "echo_run": "#echo-run",
    "echo_output": "#echo-output",
    "echo_label": "#echo-label",
}
S = SELECTORS
SETTLE_TIMEOUT_MS = 180_000


@dataclass(frozen=True)
class Finished:
    """The DOM state an action waits for (see the module docstring)."""

    scope: str
    required: tuple[str, ...]
    checked: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()
    banner: tuple[str, str] | None = None  # (selector, words it must contain)

    def js(self) -> dict[str, Any]:
        banner = None if self.banner is None else {"selector": self.banner[0], "includes": self.banner[1]}
        return {
            "scope": self.scope,
            "required": list(self.required),
            "checked": list(self.checked),
            "texts": list(self.texts),
            "banner": banner,
        }


@dataclass(frozen=True)
class Action:
    """One prepared action: perform it with ``act``; it is finished when ``finished`` holds."""

    act: Callable[[], None]
    finished: Finished


@dataclass
class Inputs:
    """Fresh files for every action (new bytes, unique names), so no cache can answer in place of the work."""

    folder: Path
    photo: Callable[[int], bytes]
    clips: dict[str, Path]
    serial: count = field(default_factory=lambda: count(1))

    def image(self, stem: str) -> Path:
        n = next(self.serial)
        path = self.folder / f"bench-{stem}-{n:03d}.jpg"
        path.write_bytes(self.photo(n))
        return path

    def clip(self, which: str, stem: str) -> Path:
        """The shipped clip with a trailing MP4 ``free`` box holding a nonce: the same frames, new bytes."""
        n = next(self.serial)
        path = self.folder / f"bench-{stem}-{n:03d}.mp4"
        shutil.copyfile(self.clips[which], path)
        nonce = f"attention-visualiser bench {n}".encode()
        with path.open("ab") as fh:
            fh.write(struct.pack(">I", 8 + len(nonce)) + b"free" + nonce)
        return path


# --- page helpers (untimed) -----------------------------------------------------------------------------


def settle(page: Page, scope: str = "body") -> None:
    """Wait until the page is idle: no event request in flight and no progress shown in ``scope``."""
    page.wait_for_function("scope => window.__bench.idle(scope)", arg=scope, timeout=SETTLE_TIMEOUT_MS)


def open_tab(page: Page, tab: str) -> None:
    """Select a tab by its elem_id (Gradio names the tab's button ``<elem_id>-button``)."""
    page.locator(f"{tab}-button").click()
    page.locator(tab).wait_for(state="visible")


def upload(page: Page, component: str, path: Path, remove_label: str) -> None:
    """Replace the component's file with ``path`` as a user does (remove the old one, choose the new one)."""
    remove = page.locator(f"{component} button[aria-label='{remove_label}']")
    if remove.count() and remove.first.is_visible():
        remove.first.click()
    page.locator(f"{component} input[type=file]").first.set_input_files(str(path))
    page.wait_for_function(
        "([sel, name]) => { const m = document.querySelector(sel + ' img, ' + sel + ' video');"
        " return !!m && (m.currentSrc || m.src || '').includes(name); }",
        arg=[component, path.stem],
        timeout=SETTLE_TIMEOUT_MS,
    )


def choose(page: Page, dropdown: str, option: str) -> None:
    """Pick a dropdown entry whose label starts with ``option``."""
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option).first.click()


def sort_checkbox(page: Page) -> Any:
    return page.locator(f"{S['image_sort']} input[type=checkbox]")


def _gradcam_open(page: Page) -> bool:
    button = page.locator(S["image_gradcam_run"])
    return button.count() > 0 and button.first.is_visible()


def open_gradcam(page: Page) -> None:
    """Open the Grad-CAM accordion (its contents are mounted when it first opens, hidden when it closes)."""
    if not _gradcam_open(page):
        page.locator(f"{S['image_gradcam_fold']} button.label-wrap").first.click()
    page.locator(S["image_gradcam_run"]).wait_for(state="visible")


def close_gradcam(page: Page) -> None:
    if _gradcam_open(page):
        page.locator(f"{S['image_gradcam_fold']} button.label-wrap").first.click()
        page.locator(S["image_gradcam_run"]).wait_for(state="hidden")


# --- the flows ---------------------------------------------------------------------------------------------


IMAGE_CHECKED = (S["image_barcode"], S["image_reference"], S["image_gradcam"])


def image_views(channel: bool, spatial: bool) -> tuple[str, ...]:
    """The Image tab's views that must show a new picture after an analysis, for a model's kind of attention.

    A model without channel gates (the plain baseline) has no overview: its note says why, nothing is drawn.
    """
    views = []
    if channel:
        views += [S["image_overview"], S["image_chart"]]
    if spatial:
        views += [S["image_overlay"], S["image_grid"]]
    return tuple(views)


def prepare_image(page: Page, inputs: Inputs, model_title: str, channel: bool, spatial: bool) -> Action:
    """The Image tab with ``model`` chosen and a new photo uploaded; the action presses Analyse."""
    open_tab(page, S["image_tab"])
    close_gradcam(page)
    current = page.locator(f"{S['image_model']} input").input_value()
    if not current.startswith(model_title):
        choose(page, S["image_model"], model_title)
    photo = inputs.image("image")
    upload(page, S["image_input"], photo, "Remove Image")
    settle(page, S["image_tab"])
    finished = Finished(
        scope=S["image_tab"],
        required=image_views(channel, spatial),
        checked=(*IMAGE_CHECKED, S["image_overlay"], S["image_grid"], S["image_chart"]),
        texts=(S["image_predictions"],),
        banner=(S["image_banner"], photo.name),
    )
    return Action(lambda: page.locator(S["image_run"]).click(), finished)


def prepare_alpha(page: Page, step: int) -> Action:
    """Move the overlay's alpha slider one step with the keyboard (right on even repeats, left on odd ones)."""
    slider = page.locator(f"{S['image_alpha']} input[type=range]")
    slider.focus()
    settle(page, S["image_tab"])
    key = "ArrowRight" if step % 2 == 0 else "ArrowLeft"
    finished = Finished(scope=S["image_tab"], required=(S["image_overlay"], S["image_grid"]))
    return Action(lambda: page.keyboard.press(key), finished)


def prepare_block(page: Page, block_label: str, channel: bool, spatial: bool) -> Action:
    """Open the block list (untimed); the action picks ``block_label``."""
    page.locator(f"{S['image_block']} input").click()
    option = page.get_by_role("option", name=block_label).first
    option.wait_for(state="visible")
    required = tuple(v for v, has in ((S["image_chart"], channel), (S["image_overlay"], spatial)) if has)
    return Action(lambda: option.click(), Finished(scope=S["image_tab"], required=required))


def prepare_sort(page: Page) -> Action:
    """The action toggles "sort by gate"; the block chart is redrawn."""
    box = sort_checkbox(page)
    settle(page, S["image_tab"])
    return Action(lambda: box.click(), Finished(scope=S["image_tab"], required=(S["image_chart"],)))


def prepare_gradcam(page: Page) -> Action:
    """Open the Grad-CAM accordion (untimed); the action presses its button."""
    open_gradcam(page)
    settle(page, S["image_tab"])
    finished = Finished(scope=S["image_tab"], required=(S["image_gradcam"],))
    return Action(lambda: page.locator(S["image_gradcam_run"]).click(), finished)


def prepare_clip(page: Page, inputs: Inputs) -> Action:
    """The Clip tab with a new copy of a shipped clip (default model and frames); the action presses Analyse."""
    open_tab(page, S["clip_tab"])
    clip = inputs.clip("clip", "clip")
    upload(page, S["clip_input"], clip, "Clear")
    settle(page, S["clip_tab"])
    finished = Finished(
        scope=S["clip_tab"],
        required=(S["clip_video"], S["clip_frame_image"], S["clip_timeline"]),
        checked=(S["clip_frame_chart"], S["clip_stability"]),
        texts=(S["clip_predictions"],),
        banner=(S["clip_banner"], clip.name),
    )
    return Action(lambda: page.locator(S["clip_run"]).click(), finished)


def prepare_conv3d(page: Page, inputs: Inputs) -> Action:
    """The 3D tab with a new copy of a shipped clip (default kernel and geometry); the action presses Animate."""
    open_tab(page, S["conv3d_tab"])
    clip = inputs.clip("conv3d", "conv3d")
    upload(page, S["conv3d_input"], clip, "Clear")
    settle(page, S["conv3d_tab"])
    finished = Finished(
        scope=S["conv3d_tab"],
        required=(S["conv3d_video"], S["conv3d_step_image"]),
        texts=(S["conv3d_parameters"],),
        banner=(S["conv3d_banner"], clip.name),
    )
    return Action(lambda: page.locator(S["conv3d_run"]).click(), finished)


def prepare_echo(page: Page, inputs: Inputs) -> Action:
    """The echo app with a new photo uploaded; the action presses its button (Gradio's floor for a click)."""
    photo = inputs.image("echo")
    upload(page, S["echo_input"], photo, "Remove Image")
    settle(page)
    finished = Finished(scope="body", required=(S["echo_output"],), texts=(S["echo_label"],))
    return Action(lambda: page.locator(S["echo_run"]).click(), finished)
