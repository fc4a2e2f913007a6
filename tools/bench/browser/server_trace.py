"""When each event ran in the app's process and where its time went: the server half of the browser bench.

``install(trace_file)`` wraps, in the server process and before the app is built, Gradio's
``Blocks.process_api`` (every event, queued or not: its wall-clock start and end), its three phases
(``preprocess_data``, ``call_function``, ``postprocess_data``), each output component class's ``postprocess``
(``gr.Plot`` rasterising a matplotlib figure, ``gr.Image`` saving an array, ...) and a list of probes: named
functions of the app (the analysis, the figures, the PNG encoder) timed where they are looked up. Each event
becomes one JSON line in ``trace_file``: ``fn_index``, ``name``, ``start`` / ``end`` (epoch seconds, the clock
the browser's timeline uses too) and ``phases`` (inclusive milliseconds per phase, component class and probe).

Nothing in the product changes: the wrappers only read the clock. A probe whose function no longer exists (the
UI is rewritten) is skipped and listed in the trace's first line, so the breakdown says what it could not see.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

TRACE_ENV = "VISUALISER_BENCH_TRACE"

# Functions of the app timed inside an event ("module:attribute", looked up where callers find them). Inclusive: a probe
# called inside another (the overlay inside block_views) is counted in both.
PROBES: dict[str, str] = {
    "visualiser.pipeline:analyse_image": "analysis (decode + forward + gates)",
    "visualiser.pipeline:analyse_clip": "clip analysis (decode + forward + gates)",
    "visualiser.ui.views.image:image_views": "image_views (every figure of the Image tab)",
    "visualiser.ui.views.image:block_views": "block_views (chart, overlay, internals)",
    "visualiser.ui.views.image:internals_views": "internals figures",
    "visualiser.ui.views.image:reference_view": "SE Fig. 6 figure",
    "visualiser.render.spatial:overlay": "overlay drawn",
    "visualiser.render.spatial:spatial_grid": "spatial grid drawn",
    "visualiser.render.channels:channel_overview": "channel overview drawn",
    "visualiser.render.channels:channel_barcode_image": "barcode drawn",
    "visualiser.render.channels:channel_bars": "block chart figure",
    "visualiser.render.channels:channel_bars_picture": "block chart picture (kept frame + data)",
    "visualiser.render.internals:sam_internals_picture": "spatial steps picture (kept layout refilled)",
    "visualiser.ui.views.clip:attention_video": "attention video (overlays + H.264)",
    "visualiser.ui.views.clip:clip_views": "clip_views (every figure of the Clip tab)",
    "visualiser.ui.views.clip:clip_frame_view": "a frame's heatmap and chart",
    "visualiser.ui.views.clip:clip_time_view": "timeline and stability figures",
    "visualiser.ui.views.conv3d:conv3d_step": "3D step picture",
    "visualiser.ui.views.conv3d:conv3d_plan": "3D animation planned",
    "visualiser.ui.views.conv3d:conv3d_outputs": "3D animation drawn + H.264",
    "visualiser.ui.views.files:write_png": "PNG encode (zlib 1)",
    "gradio.processing_utils:move_files_to_cache": "gradio: files into its cache",
    "gradio.processing_utils:save_pil_to_cache": "gradio: image encode into its cache",
    "gradio.blocks:postprocess_update_dict": "gradio: component update rebuilt",
    "gradio.utils:deep_hash": "gradio: session state hashed",
}

_current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("bench_event", default=None)
_phase: contextvars.ContextVar[str] = contextvars.ContextVar("bench_phase", default="")
NEST = " › "  # "postprocess › postprocess: Plot": a probe inside the event phase it ran in
_lock = threading.Lock()
_ABSENT = object()


def _add(record: dict[str, Any] | None, phase: str, seconds: float) -> None:
    if record is not None:
        phases = record["phases"]
        phases[phase] = phases.get(phase, 0.0) + seconds * 1e3


def _timed(fn: Callable[..., Any], label: str, top: bool = False) -> Callable[..., Any]:
    """``fn`` adding its inclusive time to the current event under ``label`` (async functions stay async).

    ``top``: ``label`` is one of the event's phases (preprocess, function, postprocess), and probes that run
    inside it are recorded as ``"<phase> › <probe>"``; a probe outside any phase keeps its own label.
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            record = _current.get()
            key = label if top else _nested(label)
            token = _phase.set(label) if top else None
            t0 = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                _add(record, key, time.perf_counter() - t0)
                if token is not None:
                    _phase.reset(token)

        return timed_async

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        record = _current.get()
        key = label if top else _nested(label)
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(record, key, time.perf_counter() - t0)

    return timed


def _nested(label: str) -> str:
    phase = _phase.get()
    return f"{phase}{NEST}{label}" if phase else label


def _holders(original: Any, attribute: str, module: Any) -> list[Any]:
    """``module`` and every loaded module of the app or Gradio that imported ``original`` under the same name."""
    found = [module]
    for name, other in list(sys.modules.items()):
        if other is module or not name.startswith(("visualiser", "gradio")):
            continue
        if getattr(other, attribute, None) is original:
            found.append(other)
    return found


def _component_classes() -> Iterable[type]:
    from gradio.components import Component

    seen: set[type] = set()
    todo = [Component]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if "postprocess" in vars(sub):
                    yield sub


def install(trace_file: Path, probes: dict[str, str] | None = None) -> Callable[[], None]:
    """Start writing one JSON line per event to ``trace_file``; returns the function that takes it all out again.

    The probes that could not be found are written in the trace's first line (``read_trace`` returns them).
    """
    from gradio.blocks import Blocks

    trace_file = Path(trace_file)
    patched: list[tuple[Any, str, Any]] = []

    def patch(holder: Any, attribute: str, replacement: Any) -> None:
        patched.append((holder, attribute, vars(holder).get(attribute, _ABSENT)))
        setattr(holder, attribute, replacement)

    missing = []
    for target, label in (PROBES if probes is None else probes).items():
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            original = getattr(module, attribute)
        except (ImportError, AttributeError):
            missing.append(target)
            continue
        timed = _timed(original, label)
        for holder in _holders(original, attribute, module):
            patch(holder, attribute, timed)
    for cls in list(_component_classes()):
        patch(cls, "postprocess", _timed(vars(cls)["postprocess"], f"postprocess: {cls.__name__}"))
    for method, phase in (("preprocess_data", "preprocess"), ("call_function", "function"),
                          ("postprocess_data", "postprocess")):  # fmt: skip
        patch(Blocks, method, _timed(getattr(Blocks, method), phase, top=True))
    process_api = Blocks.process_api

    @functools.wraps(process_api)
    async def traced(self: Blocks, block_fn: Any, *args: Any, **kwargs: Any) -> Any:
        fn = self.fns[block_fn] if isinstance(block_fn, int) else block_fn
        record = {"fn_index": fn._id, "name": fn.name, "api_name": fn.api_name, "start": time.time(), "phases": {}}
        token = _current.set(record)
        ok = False
        try:
            answer = await process_api(self, block_fn, *args, **kwargs)
            ok = True
            return answer
        finally:
            _current.reset(token)
            record["end"] = time.time()
            record["ok"] = ok
            _write(trace_file, record)

    patch(Blocks, "process_api", traced)
    _write(trace_file, {"missing_probes": missing}, mode="w")

    def remove() -> None:
        for holder, attribute, before in reversed(patched):
            if before is _ABSENT:
                delattr(holder, attribute)
            else:
                setattr(holder, attribute, before)
        patched.clear()

    return remove


def _write(trace_file: Path, record: dict[str, Any], mode: str = "a") -> None:
    line = json.dumps(record, default=str) + "\n"
    with _lock, trace_file.open(mode) as fh:
        fh.write(line)


def read_trace(trace_file: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The events written so far (in order of completion) and the probes the server could not find."""
    events, missing = [], []
    try:
        lines = Path(trace_file).read_text().splitlines()
    except FileNotFoundError:
        return [], []
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        if "missing_probes" in record:
            missing = list(record["missing_probes"])
        elif "end" in record:
            events.append(record)
    return events, missing
