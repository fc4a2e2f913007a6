"""The browser bench's run: the app and the echo app served side by side, one chromium, every action interleaved.

For each repeat (the first is a warm-up and is not counted), each step of the plan is prepared on both pages,
then the echo app's click is timed and right after it the app's action: the pair shares the machine's load of
that moment, so "above the floor" is the median of the pairs' differences. Server-side, every event's start,
end and phases come from ``server_trace`` (the app runs through ``launcher``); browser-side, the event
requests and the pictures' downloads come from ``watch.js``. The model's own work for each action
(``reference``) is timed in this process just before its pair, with both pages idle, under the same load.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.bench.browser import flows, reference
from tools.bench.browser.server_trace import TRACE_ENV, read_trace
from tools.bench.subjects import IMAGENET_ARCHS, loaded_model, photo_bytes
from tools.server import AppServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from visualiser.result import ImageResult

CHROMIUM = Path("/usr/bin/chromium")
WATCH_JS = Path(__file__).with_name("watch.js")
ACTION_TIMEOUT_S = 180.0
RESOURCE_ENTRY_DELAY_MS = 150
REASON_CHARS = 600  # of a break's reason (Playwright's call logs run long)
CLIP_FRAMES = 16  # the Clip tab's default number of frames
OPTION_MODELS = ("shapes_cbam", "cbam_resnet50")  # alpha, block, sort and Grad-CAM run on these (quick: the first)


class FlowBroke(RuntimeError):
    """An action did not finish (or the page showed an error): the app's flow is broken, not slow."""


@dataclass(frozen=True)
class Step:
    """One entry of the plan: ``kind`` is image | alpha | block | sort | gradcam | clip | conv3d."""

    kind: str
    model: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.model}" if self.model else self.kind


@dataclass
class ModelFacts:
    """What the page should show for a model, from its analysis of the bench's photo in this process."""

    title: str
    channel: bool
    spatial: bool
    block_label: str  # the block the "block" step picks (the middle one)
    block_channel: bool
    block_spatial: bool

    @classmethod
    def of(cls, name: str) -> ModelFacts:
        from visualiser.media import load_image
        from visualiser.pipeline import analyse_pixels

        loaded = loaded_model(name)
        result: ImageResult = analyse_pixels(load_image(photo_bytes()), loaded)
        focus = result.focus_block
        middle = result.blocks[len(result.blocks) // 2] if result.blocks else None
        return cls(
            title=loaded.spec.title,
            channel=focus is not None and focus.channel_gate is not None,
            spatial=bool(result.spatial_blocks),
            block_label="" if middle is None else f"{middle.label} · {middle.name}",
            block_channel=middle is not None and middle.channel_gate is not None,
            block_spatial=middle is not None and middle.spatial_gate is not None,
        )


@dataclass
class Sample:
    """One timed pair: the echo click, then the app's action, with the app's browser and server timelines."""

    step: str
    repeat: int
    echo_s: float
    app_s: float
    work_s: float = 0.0  # the model's own work for this action, timed in this process just before the pair
    timeline: dict[str, Any] = field(default_factory=dict)


def plan(image_models: Sequence[str], option_models: Sequence[str], clip_model: str) -> list[Step]:
    """Every action of one repeat, in order: each model's analysis (then its option changes), a clip, the 3D tab."""
    steps = []
    for model in image_models:
        steps.append(Step("image", model))
        if model in option_models:
            steps += [Step(kind, model) for kind in ("alpha", "block", "sort", "gradcam")]
    return [*steps, Step("clip", clip_model), Step("conv3d")]


def measure(page: Page, action: flows.Action, what: str, timeout_s: float = ACTION_TIMEOUT_S) -> dict[str, Any]:
    """Arm the watcher, act, wait until finished; the watcher's record (action and finished times in epoch ms)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.evaluate("spec => window.__bench.arm(spec)", action.finished.js())
    action.act()
    try:
        page.wait_for_function(
            "() => { const w = window.__bench.watch; return w.finished !== null || w.error !== null; }",
            timeout=timeout_s * 1000,
        )
    except PlaywrightTimeout:
        left = page.evaluate("() => window.__bench.result()")
        raise FlowBroke(f"{what}: not finished within {timeout_s:.0f} s; still missing: {left}") from None
    page.wait_for_timeout(RESOURCE_ENTRY_DELAY_MS)  # the last download's timing entry is queued after it loaded
    record = page.evaluate("() => window.__bench.result()")
    if record["error"]:
        raise FlowBroke(f"{what}: the page showed an error: {record['error']}")
    if record["action"] is None:
        raise FlowBroke(f"{what}: the action never reached the page")
    return record


def _open(browser: Browser, url: str) -> Page:
    context = browser.new_context(locale="en-US", viewport={"width": 1360, "height": 2400})
    context.add_init_script(path=str(WATCH_JS))
    page = context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_S * 1000)
    page.goto(url)
    return page


def _prepare(step: Step, page: Page, inputs: flows.Inputs, facts: dict[str, ModelFacts], repeat: int) -> flows.Action:
    f = facts.get(step.model or "")
    if step.kind == "image":
        return flows.prepare_image(page, inputs, f.title, f.channel, f.spatial)
    if step.kind == "alpha":
        return flows.prepare_alpha(page, repeat)
    if step.kind == "block":
        return flows.prepare_block(page, f.block_label, f.block_channel, f.block_spatial)
    if step.kind == "sort":
        return flows.prepare_sort(page)
    if step.kind == "gradcam":
        return flows.prepare_gradcam(page)
    if step.kind == "clip":
        return flows.prepare_clip(page, inputs)
    if step.kind == "conv3d":
        return flows.prepare_conv3d(page, inputs)
    raise ValueError(f"unknown step {step.kind!r}")


def _timeline(record: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The app action's browser record and its server events, as milliseconds after the action."""
    t0 = record["action"]
    mine = [e for e in events if t0 - 5 <= e["start"] * 1e3 <= record["finished"]]
    return {
        "finished_ms": record["finished"] - t0,
        "requests": [
            {"kind": r["kind"], "fn_index": r["fn_index"], "sent_ms": r["sent"] - t0,
             "answered_ms": None if r["answered"] is None else r["answered"] - t0}
            for r in record["requests"] if r["sent"] >= t0 - 5
        ],
        "events": [
            {"fn_index": e["fn_index"], "name": e["name"], "start_ms": e["start"] * 1e3 - t0,
             "end_ms": e["end"] * 1e3 - t0, "ok": e["ok"], "phases": e["phases"]}
            for e in sorted(mine, key=lambda e: e["start"])
        ],
        "media": sorted(
            ({"start_ms": m["start"] - t0, "end_ms": m["end"] - t0, "bytes": m["bytes"]} for m in record["media"]),
            key=lambda m: m["start_ms"],
        ),
    }  # fmt: skip


def run_browser(
    quick: bool,
    repeats: int | None = None,
    only: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Serve both apps, run the plan ``1 + repeats`` times (quick: 1 + 1, full: 1 + 5), and summarise.

    ``only``: run just the steps whose key (``image:shapes_cbam``, ``alpha:shapes_cbam``, ``clip``, ...) or
    kind (``image``, ``clip``, ...) is listed; an option step keeps its model's analysis before it.
    """
    from playwright.sync_api import sync_playwright

    from visualiser import catalogue
    from visualiser.models.registry import list_specs
    from visualiser.models.weights import weights_available

    if not CHROMIUM.is_file():
        raise FlowBroke(f"the browser bench needs {CHROMIUM} (Debian's chromium)")
    repeats = repeats if repeats is not None else (1 if quick else 5)
    embedded = [s.name for s in list_specs("image") if s.embedded and weights_available(s)]
    image_models = [*embedded, *IMAGENET_ARCHS]
    option_models = [m for m in OPTION_MODELS if m in image_models][: 1 if quick else None]
    steps = plan_all = plan(image_models, option_models, catalogue.default_model("clip") or "")
    if only:
        wanted = {s for s in steps if s.key in only or s.kind in only}
        wanted |= {Step("image", s.model) for s in wanted if s.model}
        steps = [s for s in steps if s in wanted]
        if not steps:
            raise FlowBroke(f"--only {','.join(only)} matches no step; steps: {', '.join(s.key for s in plan_all)}")
        image_models = [m for m in image_models if Step("image", m) in wanted]
        option_models = [m for m in option_models if m in image_models]
    log(f"browser bench: {len(steps)} actions × (1 warm-up + {repeats}) against the echo app, interleaved")
    facts = {name: ModelFacts.of(name) for name in image_models}
    samples: list[Sample] = []
    breaks: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="visualiser-bench-") as tmp:
        folder = Path(tmp)
        (folder / "inputs").mkdir()
        trace = folder / "trace.jsonl"
        env = {"VISUALISER_CACHE": str(folder / "cache"), TRACE_ENV: str(trace)}
        clips = _clips()
        inputs = flows.Inputs(folder / "inputs", lambda n: photo_bytes(variant=n), clips)
        works = _works(steps, clips, inputs)
        app = AppServer(None, module="tools.bench.browser.launcher", args=["--weights", *IMAGENET_ARCHS],
                        env=env, startup_timeout_s=300)  # fmt: skip
        with app, AppServer.echo() as echo, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            )
            try:
                page, echo_page = _open(browser, app.url), _open(browser, echo.url)
                page.locator(flows.S["image_run"]).wait_for()
                flows.settle(page)
                for repeat in range(1 + repeats):
                    started = time.perf_counter()
                    for step in steps:
                        sample = _attempt(step, repeat, page, echo_page, inputs, facts, works[step.key], trace,
                                          breaks, log)  # fmt: skip
                        if sample is not None:
                            samples.append(sample)
                    log(f"  {'warm-up' if repeat == 0 else f'repeat {repeat}'}: {time.perf_counter() - started:.0f} s")
            finally:
                browser.close()
        _, missing_probes = read_trace(trace)
    summary = summarise(samples, {k: w.name for k, w in works.items()}, breaks, quick=quick, repeats=repeats)
    summary["missing_probes"] = missing_probes  # functions the breakdown could not see (renamed in the app)
    return summary


def _attempt(
    step: Step, repeat: int, page: Page, echo_page: Page, inputs: flows.Inputs, facts: dict[str, ModelFacts],
    work: reference.Work, trace: Path, breaks: list[dict[str, Any]], log: Callable[[str], None],
) -> Sample | None:  # fmt: skip
    """One pair; when the app's flow breaks, the break is recorded, both pages reloaded and the pair tried once more.

    A break is a failure of the run whatever the retry gives (``main`` exits non-zero), but the retry on a fresh
    page still measures the action, so one broken transition does not hide every other figure.
    """
    from playwright.sync_api import Error as PlaywrightError

    for attempt in (1, 2):
        try:
            return _pair(step, repeat, page, echo_page, inputs, facts, work, trace)
        except (FlowBroke, PlaywrightError) as broke:  # the action, or its preparation, could not be done
            reason = str(broke)[:REASON_CHARS]
            breaks.append({"step": step.key, "repeat": repeat, "attempt": attempt, "reason": reason})
            log(f"  BROKE ({step.key}, repeat {repeat}, attempt {attempt}): {reason}")
            for p in (page, echo_page):
                p.reload()
            page.locator(flows.S["image_run"]).wait_for()
            flows.settle(page)
    return None


def _pair(
    step: Step, repeat: int, page: Page, echo_page: Page, inputs: flows.Inputs, facts: dict[str, ModelFacts],
    work: reference.Work, trace: Path,
) -> Sample:  # fmt: skip
    action = _prepare(step, page, inputs, facts, repeat)
    echo_action = flows.prepare_echo(echo_page, inputs)
    work_s = work.seconds()  # both pages idle: the reference shares this moment's load, not the browser's drawing
    echo_page.bring_to_front()
    echo_record = measure(echo_page, echo_action, "echo app click")
    page.bring_to_front()
    record = measure(page, action, step.key)
    events, _ = read_trace(trace)
    return Sample(
        step.key,
        repeat,
        echo_s=(echo_record["finished"] - echo_record["action"]) / 1e3,
        app_s=(record["finished"] - record["action"]) / 1e3,
        work_s=work_s,
        timeline=_timeline(record, events),
    )


def _clips() -> dict[str, Path]:
    """The shipped clips the Clip and 3D tabs get: a motion clip for the embedded clip model, a real scene."""
    from visualiser import catalogue

    return {
        "clip": catalogue.example_files("clip", embedded_first=True)[0],
        "conv3d": catalogue.example_files("clip", embedded_first=False)[0],
    }


def _works(steps: Sequence[Step], clips: dict[str, Path], inputs: flows.Inputs) -> dict[str, reference.Work]:
    """The in-process reference of each step (``reference``), built once: models loaded, inputs preprocessed."""
    photo = photo_bytes()
    works: dict[str, reference.Work] = {}
    for step in steps:
        if step.kind == "image":
            works[step.key] = reference.image_forward(step.model or "", photo)
        elif step.kind == "gradcam":  # the target allows two passes: forward and backward
            works[step.key] = reference.image_forward(step.model or "", photo, times=2)
        elif step.kind == "clip":
            works[step.key] = reference.clip_work(clips["clip"], step.model or "", CLIP_FRAMES)
        elif step.kind == "conv3d":
            works[step.key] = reference.conv3d_work(lambda: inputs.clip("conv3d", "reference"))
        else:
            works[step.key] = reference.NO_WORK
    return works


# --- the summary ---------------------------------------------------------------------------------------------


def summarise(
    samples: Sequence[Sample], work_names: dict[str, str], breaks: Sequence[dict[str, Any]], quick: bool, repeats: int
) -> dict[str, Any]:
    """Medians per step (warm-up left out), the floor, the overheads, and the per-step timelines."""
    from tools.bench.browser.breakdown import breakdown
    from visualiser.models.registry import get_spec

    counted = [s for s in samples if s.repeat > 0]
    steps: dict[str, Any] = {}
    for key in dict.fromkeys(s.step for s in counted):
        mine = [s for s in counted if s.step == key]
        kind, _, model = key.partition(":")
        over = statistics.median(s.app_s - s.echo_s for s in mine)
        steps[key] = {
            "kind": kind,
            "model": model or None,
            "embedded": bool(model) and get_spec(model).embedded,
            "n": len(mine),
            "finished_s": statistics.median(s.app_s for s in mine),
            "floor_s": statistics.median(s.echo_s for s in mine),
            "over_floor_s": over,
            "model_work_s": statistics.median(s.work_s for s in mine),
            "model_work": work_names.get(key, "nothing"),
            "over_floor_minus_work_s": statistics.median(s.app_s - s.echo_s - s.work_s for s in mine),
            "breakdown": breakdown([s.timeline for s in mine]),
        }
    return {
        "quick": quick,
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "floor_s": statistics.median(s.echo_s for s in counted) if counted else float("nan"),
        "steps": steps,
        "breaks": list(breaks),
        "samples": [s.__dict__ for s in samples],
    }
