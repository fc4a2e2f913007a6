"""The browser bench's pieces: its breakdown and rows on made-up timelines, its inputs, the server trace, and the
"finished" watcher on a static page in chromium (the whole bench runs in CI as ``bench --browser --quick``).

No speed is asserted anywhere: only what is measured, how it is matched up and what is reported.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tools.bench.browser.breakdown import breakdown, markdown_breakdown
from tools.bench.browser.flows import Finished, Inputs, image_views
from tools.bench.browser.report import browser_rows
from tools.bench.browser.run import Step, plan
from tools.bench.browser.server_trace import NEST, install, read_trace
from tools.bench.subjects import photo_bytes

WATCH_JS = Path(__file__).resolve().parents[1] / "tools" / "bench" / "browser" / "watch.js"


def timeline(shift: float, show_ms: float, extra: bool = False) -> dict:
    """One action's record as ``run._timeline`` writes it: a head event, the views event, one download."""
    events = [
        {"fn_index": 1, "name": "_nothing", "start_ms": 10 + shift, "end_ms": 11 + shift, "ok": True, "phases": {}},
        {"fn_index": 5, "name": "show_views", "start_ms": 100 + shift, "end_ms": 100 + shift + show_ms, "ok": True,
         "phases": {"function": show_ms / 4, f"function{NEST}image_views": show_ms / 4,
                    "postprocess": 3 * show_ms / 4, f"postprocess{NEST}postprocess: Plot": show_ms / 2}},
    ]  # fmt: skip
    if extra:
        events.append({"fn_index": 9, "name": "rare", "start_ms": 50, "end_ms": 60, "ok": True, "phases": {}})
    return {
        "finished_ms": 200 + shift + show_ms,
        "requests": [{"kind": "queue/join", "fn_index": 5, "sent_ms": 90 + shift, "answered_ms": 95 + shift}],
        "events": events,
        "media": [{"start_ms": 150 + shift + show_ms, "end_ms": 160 + shift + show_ms, "bytes": 2048}],
    }


# --- the breakdown ----------------------------------------------------------------------------------------


def test_the_breakdown_takes_each_lines_median_and_orders_lines_by_start():
    lines = breakdown([timeline(0, 1000), timeline(20, 3000, extra=True), timeline(10, 2000)])
    whats = [line["what"] for line in lines]
    assert whats == [
        "server runs event 1 `_nothing`",
        "browser sends event 5 (queue/join)",
        "server runs event 5 `show_views`",
        "browser downloads the pictures / videos",
        "finished (every view drawn, no progress shown)",
    ]  # the event seen in one repeat of three is left out
    views = lines[2]
    assert (views["start_ms"], views["end_ms"]) == (110, 2110)  # medians of 100/120/110 and 1100/3120/2110
    assert views["phases"][f"postprocess{NEST}postprocess: Plot"] == 1000
    assert lines[-1]["start_ms"] == 2210 and lines[-1]["end_ms"] is None
    assert lines[3]["count"] == 1 and lines[3]["bytes"] == 2048


def test_the_breakdown_table_nests_each_probe_under_its_phase():
    table = markdown_breakdown("Image tab", breakdown([timeline(0, 1000)]))
    row = next(line for line in table.splitlines() if "show_views" in line)
    assert "function 250 (image_views 250) · postprocess 750 (postprocess: Plot 500)" in row
    assert row.startswith("| 100 ms | 1100 ms | 1000 ms |")
    assert breakdown([]) == []


# --- the rows -----------------------------------------------------------------------------------------------


def _summary(kind: str, model: str | None, embedded: bool, over: float, work: float, name: str) -> dict:
    return {"kind": kind, "model": model, "embedded": embedded, "n": 5, "finished_s": 0.3 + over, "floor_s": 0.3,
            "over_floor_s": over, "model_work_s": work, "model_work": name, "over_floor_minus_work_s": over - work,
            "breakdown": []}  # fmt: skip


def test_each_step_gets_its_issue_16_target_on_the_right_row():
    browser = {
        "floor_s": 0.31,
        "steps": {
            "image:shapes_cbam": _summary("image", "shapes_cbam", True, 1.30, 0.005, "forward"),
            "image:cbam_resnet50": _summary("image", "cbam_resnet50", False, 0.40, 0.2, "forward"),
            "sort:shapes_cbam": _summary("sort", "shapes_cbam", True, 0.05, 0.0, "nothing"),
            "gradcam:shapes_cbam": _summary("gradcam", "shapes_cbam", True, 0.12, 0.01, "2 × forward"),
            "conv3d": _summary("conv3d", None, False, 2.0, 1.5, "animation work in process"),
        },
        "breaks": [{"step": "image:shapes_se", "repeat": 1, "attempt": 1, "reason": "an error toast"}],
    }
    rows = {row.label: row for row in browser_rows(browser)}
    floor = rows["browser: echo app, click → picture shown (Gradio's floor)"]
    assert (floor.value, floor.target) == (0.31, None)
    embedded = "browser: Image tab, shapes_cbam: Analyse → every view drawn"
    above = rows[f"{embedded}, above the floor"]
    assert above.markdown() == f"| {embedded}, above the floor | +1.30 s | ≤ +0.25 s | no |"
    assert rows[f"{embedded}, above the floor + forward (5 ms)"].target is None  # embedded: judged on the floor
    imagenet = "browser: Image tab, cbam_resnet50: Analyse → every view drawn"
    assert rows[f"{imagenet}, above the floor"].target is None
    judged = rows[f"{imagenet}, above the floor + forward (200 ms)"]
    assert (judged.target, judged.met, round(judged.value, 2)) == ("browser_image_imagenet", True, 0.2)
    sort = rows["browser: Image tab, shapes_cbam: sort toggled → chart redrawn, above the floor"]
    assert (sort.target, sort.met) == ("browser_option", True)
    assert not any(label.startswith("browser: Image tab, shapes_cbam: sort") and "+ nothing" in label for label in rows)
    gradcam = rows["browser: Image tab, shapes_cbam: Grad-CAM pressed → shown, above the floor + 2 × forward (10 ms)"]
    assert (gradcam.target, gradcam.met) == ("browser_gradcam", False)  # 0.11 s > 0.1 s
    assert all(row.target is None for label, row in rows.items() if label.startswith("browser: 3D tab"))
    broke = rows["browser: actions whose flow broke"]
    assert (broke.value, broke.met) == (1, False)


# --- what the bench feeds the page -------------------------------------------------------------------------


def test_every_photo_is_new_bytes_and_new_pixels_of_the_same_size():
    import io

    from PIL import Image

    variants = [photo_bytes(variant=n) for n in range(1, 40)]
    pixels = [np.asarray(Image.open(io.BytesIO(b))) for b in variants]
    assert len({hashlib.sha1(b).hexdigest() for b in variants}) == len(variants)  # the upload caches miss
    assert len({hashlib.sha1(p.tobytes()).hexdigest() for p in pixels}) == len(variants)  # so does Grad-CAM's
    assert {p.shape for p in pixels} == {(480, 640, 3)}
    assert np.array_equal(pixels[0][24:, 24:], pixels[1][24:, 24:])  # only the corner differs (chroma blurs 8 px)


def test_a_clip_copy_has_new_bytes_and_the_same_frames(tmp_path):
    from visualiser import catalogue
    from visualiser.media import load_clip

    shipped = catalogue.example_files("clip", embedded_first=True)[0]
    inputs = Inputs(tmp_path, photo_bytes, {"clip": shipped})
    first, second = inputs.clip("clip", "c"), inputs.clip("clip", "c")
    assert first.name != second.name and first.suffix == ".mp4"
    digests = {hashlib.sha1(p.read_bytes()).hexdigest() for p in (shipped, first, second)}
    assert len(digests) == 3
    assert np.array_equal(load_clip(first, num_frames=8).frames, load_clip(shipped, num_frames=8).frames)


def test_the_plan_puts_each_models_option_changes_after_its_analysis():
    steps = plan(["shapes_cbam", "shapes_se"], ["shapes_cbam"], "motion_cbam3d")
    assert [s.key for s in steps] == [
        "image:shapes_cbam", "alpha:shapes_cbam", "block:shapes_cbam", "sort:shapes_cbam", "gradcam:shapes_cbam",
        "image:shapes_se", "clip:motion_cbam3d", "conv3d",
    ]  # fmt: skip
    assert Step("conv3d").key == "conv3d"


def test_which_views_an_analysis_must_redraw_follows_the_models_attention():
    assert image_views(channel=False, spatial=False) == ()  # the plain model: notes, no pictures
    assert image_views(channel=True, spatial=False) == ("#image-overview", "#image-chart")
    assert set(image_views(channel=True, spatial=True)) == {
        "#image-overview", "#image-chart", "#image-overlay", "#image-grid"
    }  # fmt: skip


# --- the server trace ------------------------------------------------------------------------------------------


def test_the_trace_writes_each_event_with_its_phases_and_comes_out_again(tmp_path):
    import gradio as gr
    from gradio.blocks import Blocks

    def double(x: float) -> float:
        return 2 * x

    with gr.Blocks() as demo:
        number, out = gr.Number(), gr.Number()
        number.change(double, number, out)
    trace = tmp_path / "trace.jsonl"
    original = Blocks.process_api
    remove = install(trace, probes={"no.such.module:thing": "missing"})
    try:
        assert Blocks.process_api is not original
        answer = asyncio.run(demo.process_api(block_fn=0, inputs=[21], state=None, request=None))
    finally:
        remove()
    assert Blocks.process_api is original
    assert answer["data"] == [42]
    events, missing = read_trace(trace)
    assert missing == ["no.such.module:thing"]
    assert len(events) == 1
    event = events[0]
    assert (event["name"], event["fn_index"], event["ok"]) == ("double", 0, True)
    assert event["start"] <= event["end"]
    assert {"preprocess", "function", "postprocess", f"postprocess{NEST}postprocess: Number"} <= set(event["phases"])
    assert json.loads(trace.read_text().splitlines()[0]) == {"missing_probes": ["no.such.module:thing"]}


# --- "finished", in chromium ----------------------------------------------------------------------------------

PAGE = """
<div id="tab">
  <div data-testid="status-tracker" class="wrap" style="height: 5px"></div>
  <div id="banner">Analysing with a model …</div>
  <div id="view"><img src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"></div>
  <div id="label"></div>
  <div id="closed" style="display: none"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></div>
  <button id="run">Run</button>
</div>
"""
NEW_PICTURE = "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="


@pytest.mark.browser
def test_finished_waits_for_every_condition_and_then_takes_the_frames_time():
    from tests.support.browser import CHROMIUM, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    spec = Finished(scope="#tab", required=("#view",), checked=("#closed",), texts=("#label",),
                    banner=("#banner", "photo-7.jpg")).js()  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_content(PAGE)
            page.add_script_tag(path=str(WATCH_JS))
            page.evaluate("spec => window.__bench.arm(spec)", spec)
            page.wait_for_timeout(100)
            assert page.evaluate("() => window.__bench.result().action") is None  # nothing happened yet
            page.locator("#run").click()
            page.wait_for_timeout(100)
            left = page.evaluate("() => window.__bench.result().left")
            assert left == [
                "progress shown in 1 place(s)",
                '#banner lacks "photo-7.jpg" (says "Analysing with a model …")',
                "#view still shows the old media",
                "#label has no text",
            ]
            page.evaluate("() => document.querySelector('[data-testid=status-tracker]').classList.add('hide')")
            page.evaluate("() => { document.querySelector('#banner').innerText = 'Showing: photo-7.jpg'; }")
            page.evaluate("() => { document.querySelector('#label').innerText = 'cat 90 %'; }")
            page.wait_for_timeout(100)
            assert page.evaluate("() => window.__bench.result().left") == ["#view still shows the old media"]
            assert page.evaluate("() => window.__bench.result().finished") is None
            page.evaluate("src => { document.querySelector('#view img').src = src; }", NEW_PICTURE)
            page.wait_for_function("() => window.__bench.result().finished !== null")
            result = page.evaluate("() => window.__bench.result()")
            assert result["left"] == [] and result["error"] is None
            assert result["finished"] > result["action"]  # the hidden view's old picture did not hold it up
        finally:
            browser.close()
