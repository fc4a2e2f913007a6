"""A visitor's page without a browser: the same HTTP calls the Gradio front end makes, events chained as it does.

The page uploads a file, joins the queue with the event's ``fn_index`` and its inputs' current values, reads
the answer from the session's server-sent events, applies the outputs and then runs what the page would run
next: the events listening to ``change`` on a component whose value changed (for ``gr.State``, which stays
on the server, the server says which changed), and the events chained with ``.then`` / ``.success`` /
``.failure``. gradio_client cannot do this (it refuses private events), so the load
test's ``page`` flow uses it to exercise the views the Image tab draws after ``/analyse_image``. JavaScript
events run in the browser only and are skipped; values a script would change are left as they are.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

MAX_CHAIN = 32  # events one action may trigger; a page that chains more is looping


class Busy(Exception):
    """The queue is full: the server protects itself (HTTP 503 on joining)."""


class ErrorAnswer(Exception):
    """The event ended with an error message (what the page shows in a toast)."""


@dataclass(frozen=True)
class Dependency:
    """One event of the page, as its config describes it."""

    id: int
    targets: tuple[tuple[int | None, str], ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    backend: bool
    trigger_after: int | None
    only_on_success: bool
    only_on_failure: bool
    api_name: str | None

    @classmethod
    def from_config(cls, entry: dict[str, Any]) -> Dependency:
        return cls(
            id=int(entry["id"]),
            targets=tuple((t[0], str(t[1])) for t in entry.get("targets", [])),
            inputs=tuple(entry.get("inputs", [])),
            outputs=tuple(entry.get("outputs", [])),
            backend=bool(entry.get("backend_fn")),
            trigger_after=entry.get("trigger_after"),
            only_on_success=bool(entry.get("trigger_only_on_success")),
            only_on_failure=bool(entry.get("trigger_only_on_failure")),
            api_name=entry.get("api_name") or None,
        )


@dataclass(frozen=True)
class PageConfig:
    """The parts of ``/config`` the page needs: every event and every component's initial value."""

    api_prefix: str
    dependencies: dict[int, Dependency]
    initial_values: dict[int, Any]
    state_ids: frozenset[int] = frozenset()  # gr.State: kept on the server, never sent to the page
    elem_ids: dict[str, int] = field(default_factory=dict)  # a component's elem_id -> its id

    @classmethod
    def from_json(cls, config: dict[str, Any]) -> PageConfig:
        deps = [Dependency.from_config(d) for d in config["dependencies"]]
        values = {int(c["id"]): c.get("props", {}).get("value") for c in config["components"]}
        states = frozenset(int(c["id"]) for c in config["components"] if c.get("type") == "state")
        named = [c for c in config["components"] if c.get("props", {}).get("elem_id")]
        elem_ids = {c["props"]["elem_id"]: int(c["id"]) for c in named}
        return cls(config.get("api_prefix", "/gradio_api"), {d.id: d for d in deps}, values, states, elem_ids)

    def clicked(self, elem_id: str) -> Dependency:
        """The event a click on the element ``elem_id`` starts (a button's own event, not an API endpoint)."""
        component = self.elem_ids.get(elem_id)
        for dep in self.dependencies.values():
            if component is not None and (component, "click") in dep.targets:
                return dep
        raise KeyError(f"a click on {elem_id!r} starts no event of the page")

    def named(self, api_name: str) -> Dependency:
        for dep in self.dependencies.values():
            if dep.api_name == api_name.lstrip("/"):
                return dep
        raise KeyError(f"the page has no event named {api_name!r}")

    def after(self, done: Dependency, succeeded: bool, changed: set[int]) -> list[Dependency]:
        """The events the page starts once ``done`` finished: ``.then`` chains, and ``change`` listeners."""
        follow = []
        for dep in self.dependencies.values():
            chained = dep.trigger_after == done.id and not (
                (dep.only_on_success and not succeeded) or (dep.only_on_failure and succeeded)
            )
            listens = any(event == "change" and target in changed for target, event in dep.targets)
            if chained or listens:
                follow.append(dep)
        return follow


@dataclass
class PageVisitor:
    """One browser tab: a session, the components' current values, and the events it ran."""

    url: str
    config: PageConfig
    timeout_s: float = 120.0
    session_hash: str = field(default_factory=lambda: uuid.uuid4().hex[:11])
    values: dict[int, Any] = field(default_factory=dict)
    events_run: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = dict(self.config.initial_values)
        self.http = httpx.Client(base_url=self.url.rstrip("/") + self.config.api_prefix, timeout=self.timeout_s)

    @classmethod
    def open(cls, url: str, timeout_s: float = 120.0) -> PageVisitor:
        """Load the page's config, as the browser does when the page opens."""
        answer = httpx.get(url.rstrip("/") + "/config", timeout=timeout_s)
        answer.raise_for_status()
        return cls(url, PageConfig.from_json(answer.json()), timeout_s)

    def close(self) -> None:
        self.http.close()

    def upload(self, path: Path) -> dict[str, Any]:
        """Upload a file as the image component does; returns the ``FileData`` the page then holds."""
        with Path(path).open("rb") as fh:
            answer = self.http.post("/upload", files={"files": (Path(path).name, fh, "image/png")})
        answer.raise_for_status()
        server_path = answer.json()[0]
        return {
            "path": server_path,
            "url": f"{self.url.rstrip('/')}{self.config.api_prefix}/file={server_path}",
            "orig_name": Path(path).name,
            "size": Path(path).stat().st_size,
            "mime_type": "image/png",
            "meta": {"_type": "gradio.FileData"},
        }

    def act(self, api_name: str, inputs: list[Any]) -> list[Any]:
        """Set the named event's inputs, run it and everything the page chains after it.

        Returns the named event's own outputs without its ``gr.State`` ones, as an API caller gets them.
        Raises ``Busy`` or ``ErrorAnswer`` for the first event that is refused or fails (after running what the
        page runs on a failure, e.g. the step that clears the views and says why).
        """
        first = self.config.named(api_name)
        self.values.update(zip(first.inputs, inputs, strict=True))
        pending, own, ran = [first], None, 0
        while pending:
            dep = pending.pop(0)
            ran += 1
            if ran > MAX_CHAIN:
                raise ErrorAnswer(f"the page chained more than {MAX_CHAIN} events after {api_name}")
            if not dep.backend:
                continue
            try:
                outputs, changed_states = self._run(dep)
            except ErrorAnswer:
                self._after_failure(dep)
                raise
            own = outputs if own is None else own
            changed = self._apply(dep, outputs) | changed_states
            pending += self.config.after(dep, succeeded=True, changed=changed)
        shown = zip(first.outputs, own or [], strict=True)
        return [value for component, value in shown if component not in self.config.state_ids]

    def _after_failure(self, failed: Dependency) -> None:
        """What the page runs after a failed event (its ``.failure`` and ``.then`` steps, e.g. the banner saying
        why), as a browser does; a failure among them is not reported again."""
        pending, ran = self.config.after(failed, succeeded=False, changed=set()), 0
        while pending and ran < MAX_CHAIN:
            dep = pending.pop(0)
            ran += 1
            if not dep.backend:
                continue
            try:
                outputs, changed_states = self._run(dep)
            except ErrorAnswer:
                continue
            changed = self._apply(dep, outputs) | changed_states
            pending += self.config.after(dep, succeeded=True, changed=changed)

    def _apply(self, dep: Dependency, outputs: list[Any]) -> set[int]:
        """Store the outputs as the page does; the ids whose value changed (those fire ``change``)."""
        changed = set()
        for component, value in zip(dep.outputs, outputs, strict=True):
            if isinstance(value, dict) and value.get("__type__") == "update":
                if "value" not in value:
                    continue
                value = value["value"]
            if _json(value) != _json(self.values.get(component)):
                changed.add(component)
            self.values[component] = value
        return changed

    def _run(self, dep: Dependency) -> tuple[list[Any], set[int]]:
        """Run one event; its outputs, and the ``gr.State`` components whose value it changed (the server says)."""
        target = next((t for t, _ in dep.targets if t is not None), None)
        body = {
            "data": [self.values.get(i) for i in dep.inputs],
            "event_data": None,
            "fn_index": dep.id,
            "trigger_id": target,
            "session_hash": self.session_hash,
        }
        joined = self.http.post("/queue/join", json=body)
        if joined.status_code == 503:
            raise Busy(joined.text)
        joined.raise_for_status()
        event_id = joined.json()["event_id"]
        self.events_run.append(dep.api_name or str(dep.id))
        for message in self._messages():
            if message.get("msg") == "unexpected_error":
                raise ErrorAnswer(str(message.get("message")))
            if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                output = message.get("output") or {}
                if not message.get("success"):
                    raise ErrorAnswer(str(output.get("error") or output))
                return list(output.get("data", [])), set(output.get("changed_state_ids") or [])
        raise ErrorAnswer(f"the event stream ended before event {dep.id} completed")

    def _messages(self) -> Iterator[dict[str, Any]]:
        with self.http.stream("GET", "/queue/data", params={"session_hash": self.session_hash}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    yield json.loads(line[5:])


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
