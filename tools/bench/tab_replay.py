"""A tab's click replayed in this process, as the page chains its events: what the server does for one click.

The benchmark's in-process rows must time what the Image tab actually runs, not a list of renderers that
may drift from it. So they do not name the tab's functions at all: ``TabReplay`` builds the app
(``visualiser.ui.shell.build_demo``), finds the event a click on an ``elem_id`` starts, and runs it through
Gradio's own ``Blocks.process_api`` (preprocessing, the function, postprocessing: the PNG / WebP encoding,
``gr.Plot`` rasterising) with the page's chaining rules (``tools.loadtest.page.PageConfig``: ``.then`` /
``.success`` chains, ``change`` listeners of outputs whose value changed). No server, no browser: what is
left of a browser row after this is transport and the browser itself.

``views_called`` records which functions of ``visualiser.ui.views`` a replay reached, so a test can hold the
bench's list of view functions to the tab's (``IMAGE_TAB_VIEWS`` in ``tools.bench.image``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.loadtest.page import MAX_CHAIN, Dependency, PageConfig

if TYPE_CHECKING:
    import gradio as gr


class ReplayError(RuntimeError):
    """The replayed click failed (an event raised) or started nothing."""


@dataclass(frozen=True)
class EventRun:
    """One event of a replayed click: which, and how long ``process_api`` took for it."""

    fn_index: int
    name: str
    seconds: float


class TabReplay:
    """The app's page in this process: component values, one session's state, clicks replayed event by event."""

    def __init__(self, demo: gr.Blocks | None = None) -> None:
        from gradio.state_holder import SessionState

        from visualiser.ui.shell import build_demo

        self.demo = demo if demo is not None else build_demo()
        config = self.demo.get_config_file()
        self.config = PageConfig.from_json(config)
        self.values: dict[int, Any] = dict(self.config.initial_values)
        self.state = SessionState(self.demo)
        self.ids = {
            c["props"]["elem_id"]: int(c["id"]) for c in config["components"] if c.get("props", {}).get("elem_id")
        }

    def component(self, elem_id: str) -> int:
        """The component id of ``elem_id`` (a ``ReplayError`` names it when the page has none)."""
        try:
            return self.ids[elem_id]
        except KeyError:
            raise ReplayError(f"the page has no component with elem_id {elem_id!r}") from None

    def set(self, elem_id: str, value: Any) -> None:
        """Set a component's value as the user would (no event fires: as ``gr.Blocks`` sees a typed value)."""
        self.values[self.component(elem_id)] = value

    def upload(self, elem_id: str, path: Path) -> None:
        """Give a file component ``path`` as its value, in the ``FileData`` form the page sends."""
        self.set(elem_id, {"path": str(path), "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}})

    def starts(self, elem_id: str, event: str = "click") -> list[Dependency]:
        """The events ``event`` on ``elem_id`` starts directly."""
        target = self.component(elem_id)
        return [dep for dep in self.config.dependencies.values() if (target, event) in dep.targets]

    def chain(self, elem_id: str, event: str = "click") -> list[Dependency]:
        """Every event a successful ``event`` on ``elem_id`` leads to through ``.then`` / ``.success`` (static)."""
        todo, seen = self.starts(elem_id, event), []
        while todo:
            dep = todo.pop(0)
            if dep in seen:
                continue
            seen.append(dep)
            todo += self.config.after(dep, succeeded=True, changed=set())
        return seen

    def click(self, elem_id: str, event: str = "click") -> list[EventRun]:
        """Run what ``event`` on ``elem_id`` starts and everything the page chains after it; each event's time."""
        first = self.starts(elem_id, event)
        if not first:
            raise ReplayError(f"{event} on {elem_id!r} starts no event")
        return asyncio.run(self._run(first, f"{event} on {elem_id}"))

    async def _run(self, first: list[Dependency], what: str) -> list[EventRun]:
        pending, runs, ran = list(first), [], 0
        while pending:
            dep = pending.pop(0)
            ran += 1
            if ran > MAX_CHAIN:
                raise ReplayError(f"{what} chained more than {MAX_CHAIN} events")
            if not dep.backend:
                continue  # a script that runs in the browser only
            inputs = [self.values.get(i) for i in dep.inputs]
            t0 = time.perf_counter()
            try:
                out = await self.demo.process_api(
                    block_fn=dep.id, inputs=inputs, state=self.state, request=None, in_event_listener=True
                )
            except Exception as error:
                name = self.demo.fns[dep.id].name
                raise ReplayError(f"{what}: event {dep.id} ({name}) failed: {error}") from error
            runs.append(EventRun(dep.id, str(self.demo.fns[dep.id].name), time.perf_counter() - t0))
            changed = self._apply(dep, out["data"]) | set(out.get("changed_state_ids") or [])
            pending += self.config.after(dep, succeeded=True, changed=changed)
        return runs

    def _apply(self, dep: Dependency, outputs: Sequence[Any]) -> set[int]:
        changed = set()
        for component, value in zip(dep.outputs, outputs, strict=True):
            if isinstance(value, dict) and value.get("__type__") == "update":
                if "value" not in value:
                    continue
                value = value["value"]
            if value != self.values.get(component):
                changed.add(component)
            self.values[component] = value
        return changed


@contextlib.contextmanager
def views_called() -> Iterator[set[str]]:
    """While active, the names of the ``visualiser.ui.views`` functions the UI's events call directly.

    Every public function of the package is wrapped where callers look it up (the package and the module
    that defines it); a call made from inside another of them (a helper of a view) is not recorded, so the
    set is what the tabs' event functions themselves call. The originals are put back on exit.
    """
    import threading

    from visualiser.ui import views

    called: set[str] = set()
    patched: list[tuple[Any, str, Any]] = []
    depth = threading.local()

    def recording(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            level = getattr(depth, "level", 0)
            if level == 0:
                called.add(name)
            depth.level = level + 1
            try:
                return fn(*args, **kwargs)
            finally:
                depth.level = level

        return wrapper

    for name in views.__all__:
        fn = getattr(views, name)
        if not callable(fn) or isinstance(fn, type):
            continue
        wrapper = recording(name, fn)
        for holder in _holders(fn, name):
            patched.append((holder, name, fn))
            setattr(holder, name, wrapper)
    try:
        yield called
    finally:
        for holder, name, fn in reversed(patched):
            setattr(holder, name, fn)


def _holders(fn: Any, name: str) -> Iterable[Any]:
    return [m for key, m in list(sys.modules.items()) if key.startswith("visualiser.") and getattr(m, name, None) is fn]


@contextlib.contextmanager
def deterministic_weights(names: Iterable[str]) -> Iterator[None]:
    """``names`` loadable by the app in this process with deterministic weights, installed by ``fetch --from``.

    For models whose weights are not on this machine (nothing can be downloaded here): a private
    ``$VISUALISER_CACHE`` for the duration, the launcher's ``install_deterministic`` into it, and on exit the
    registry, the environment and the loaded models as they were.
    """
    from tools.bench.browser.launcher import install_deterministic
    from visualiser.models import registry
    from visualiser.models.weights import weights_available
    from visualiser.pipeline.models import forget_models

    missing = [name for name in names if not weights_available(registry.get_spec(name))]
    if not missing:
        yield
        return
    saved = {name: registry.get_spec(name) for name in missing}
    before = os.environ.get("VISUALISER_CACHE")
    with tempfile.TemporaryDirectory(prefix="visualiser-bench-cache-") as tmp:
        os.environ["VISUALISER_CACHE"] = tmp
        try:
            with contextlib.redirect_stdout(sys.stderr):  # the bench's stdout is its table
                install_deterministic(missing)
            yield
        finally:
            forget_models(missing)
            for name, spec in saved.items():
                registry.unregister(name)
                registry.register(spec)
            if before is None:
                os.environ.pop("VISUALISER_CACHE", None)
            else:
                os.environ["VISUALISER_CACHE"] = before
