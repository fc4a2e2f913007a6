"""Driving the app in a real browser (Debian's chromium through Playwright), and what every step must satisfy.

``serve(demo)`` launches a built app on a free loopback port; ``open_page`` opens it at a width and locale.
``Step`` takes the screenshot of a step (``artifacts/browser/<test>/<n>-<name>.png``) and checks what the
issue asks of every step (``SOUND_PAGE_JS``): nothing on the page reads "Error" / "错误"; every visible figure is
drawn (an empty figure box is a failure: a view the model cannot fill is hidden and its note says why); no
figure's label box overlaps its picture; no picture is drawn squeezed or wider than its panel.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
TIMEOUT_MS = 60_000
WIDE, NARROW = 1440, 1024

# Runs in the page; returns a list of problems (empty when the page is sound).
SOUND_PAGE_JS = """
() => {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  for (const el of document.querySelectorAll("body *")) {
    if (el.children.length || !visible(el)) continue;
    const text = (el.textContent || "").trim();
    if (text === "Error" || text === "错误") problems.push(`an element reads ${text}: <${el.tagName.toLowerCase()}>`);
  }
  for (const toast of document.querySelectorAll(".toast-body")) {
    if (visible(toast)) problems.push(`a toast: ${(toast.textContent || "").trim().slice(0, 120)}`);
  }
  for (const figure of document.querySelectorAll(".figure-out")) {
    if (!visible(figure)) continue;
    const name = figure.id || figure.className;
    const media = [...figure.querySelectorAll("img, video")].filter((m) => visible(m) && (m.currentSrc || m.src));
    if (!media.length) { problems.push(`empty figure ${name}`); continue; }
    const picture = media[media.length - 1], box = picture.getBoundingClientRect();
    for (const over of figure.querySelectorAll('[data-testid="block-label"], .icon-button-wrapper')) {
      if (!visible(over)) continue;
      const l = over.getBoundingClientRect();
      const rows = Math.min(l.bottom, box.bottom) - Math.max(l.top, box.top);
      const cols = Math.min(l.right, box.right) - Math.max(l.left, box.left);
      const what = over.tagName === "LABEL" ? "label" : "buttons";
      if (rows > 1 && cols > 1) problems.push(`the ${what} of ${name} cover its figure`);
    }
    if (picture.tagName === "IMG" && picture.naturalWidth && picture.complete) {
      const shown = picture.clientWidth / picture.clientHeight, own = picture.naturalWidth / picture.naturalHeight;
      if (Math.abs(shown - own) / own > 0.03) {
        problems.push(`${name} is drawn at ${shown.toFixed(2)}:1, not ${own.toFixed(2)}:1`);
      }
      const panel = figure.getBoundingClientRect();
      if (box.right > panel.right + 1 || box.left < panel.left - 1) problems.push(`${name} is wider than its panel`);
    }
  }
  return problems;
}
"""


def require_browser() -> None:
    """Skip without Playwright or chromium, unless ``VISUALISER_REQUIRE_BROWSER=1`` (CI), where that fails."""
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(demo: Any) -> Iterator[str]:
    """Launch a built app on 127.0.0.1 (a free port) with the app's own launch settings; yields its URL."""
    from visualiser.ui.shell import launch_kwargs

    kwargs = launch_kwargs() | {"server_port": free_port(), "server_name": "127.0.0.1", "quiet": True}
    _, url, _ = demo.launch(prevent_thread_lock=True, **kwargs)
    try:
        yield url
    finally:
        demo.close()


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"],
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, width: int = WIDE, locale: str = "en-US") -> Any:
    """A fresh page (own context: no stored language) at ``width``, waiting until the Image tab has arrived."""
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.locator("#image-run").wait_for()
    wait_text(page, "#image-showing", r"Showing|当前显示|No result:|没有结果：", timeout=180_000)  # arrived
    return page


def wait_text(page: Any, selector: str, pattern: str, timeout: int = TIMEOUT_MS) -> str:
    """Wait until ``selector``'s text matches ``pattern`` (a JS regular expression); returns the text.

    On a timeout the failure says what the element read instead, and a screenshot is left in ``artifacts``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            "([sel, pat]) => { const e = document.querySelector(sel); "
            "return !!e && new RegExp(pat).test(e.innerText); }",
            arg=[selector, pattern],
            timeout=timeout,
        )
    except PlaywrightTimeout:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "timeout.png"
        page.screenshot(path=str(shot), full_page=True)
        found = page.locator(selector).first.inner_text() if page.locator(selector).count() else "(no such element)"
        raise AssertionError(f"{selector} never matched {pattern!r}; it reads {found[:300]!r} (see {shot})") from None
    return page.locator(selector).inner_text()


def settle(page: Any) -> None:
    """Let pending events finish: no progress indicator left, then a short pause for late renders."""
    page.wait_for_timeout(300)  # an event just triggered shows its progress only after a moment
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=\"status-tracker\"]')]"
        ".some((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && "
        "getComputedStyle(e).visibility !== 'hidden' && !e.classList.contains('hide'); })",
        timeout=3 * TIMEOUT_MS,
    )
    # Gradio's pictures load lazily (only once scrolled to); a full-page check needs every one of them loaded
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach((i) => { i.loading = 'eager'; })")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.figure-out img')].every((i) => !i.getAttribute('src') || i.complete)",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_timeout(400)


@dataclass
class Steps:
    """One test's screenshots and checks, numbered in order."""

    name: str
    count: int = 0
    shots: list[Path] = field(default_factory=list)

    def check(self, page: Any, step: str, full_page: bool = True) -> Path:
        """Screenshot the step, then fail if the page is not sound (the screenshot stays for the reader)."""
        settle(page)
        self.count += 1
        folder = ARTIFACTS / self.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9-]+', '-', step.lower())}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        problems = page.evaluate(SOUND_PAGE_JS)
        assert not problems, f"{self.name} / {step}: {problems} (see {path})"
        return path


def choose(page: Any, dropdown: str, option: str) -> None:
    """Pick the option whose text contains ``option`` in the dropdown with id ``dropdown``."""
    page.locator(f"#{dropdown} input").click()
    page.get_by_role("option", name=option, exact=False).first.click()


def switch_language(page: Any, language: str) -> None:
    """Use the page's switch ("English" or "简体中文") and wait for the labels and every tab to follow."""
    page.locator("#language").get_by_text(language, exact=True).click()
    tab = "图像" if language == "简体中文" else "Image"
    wait_text(page, "#tab-image-button", tab)
    settle(page)


def open_tab(page: Any, index: int) -> None:
    page.locator("button[role=tab]").nth(index).click()
    page.wait_for_timeout(300)


def visible(page: Any, selector: str) -> bool:
    return page.locator(selector).first.is_visible()
