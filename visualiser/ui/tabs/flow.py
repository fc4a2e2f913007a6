"""The shape every analysing tab shares: one server round trip per click, no stale view, failures in the banner.

A click (the tab's button, an example, a hand-off from another control) first runs in the browser: the event's
``js`` marks the tab pending (``pending_js``: CSS hides the old result's views, the banner says what is being
analysed), then one event analyses and returns every view on screen (``OneTrip.on``). The public API
endpoint runs the same analysis with its own fixed outputs, and no page event triggers it
(``OneTrip.publish``, ``gr.on(triggers=[])``). A failure runs ``failed``, which reads the failure the error
boundary remembered for this session and puts it in the tab's banner (short sentence, detail folded), where it
stays until the next action; the pending mark goes either way. Nothing on screen ever belongs to an older
result.

Every step returns a ``{component: update}`` mapping: a step names only what it changes, so no step depends
on the position of a component in a list. ``outputs`` lists every component the click may update.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.events import Dependency

from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY
from visualiser.ui.views.phrases import say

Updates = dict[Any, Any]


def pending_js(tab: str, banner: str, model: str | None, phrase: str = "pending") -> str:
    """The browser's half of a click: mark the tab pending before the request leaves (CSS hides the old result's
    views, ``PENDING_CSS``) and put "Analysing with <model> …" in the banner in the page's language (the last
    input of the event); the inputs go on unchanged. No server round trip."""
    words = {lang: say(lang, phrase, model="{model}").replace("**", "") for lang in ("en", "zh")}
    model_input = f"#{model} input" if model else ""
    return (
        "(...args) => {"
        f" const words = {json.dumps(words)}; const lang = args[args.length - 1];"
        f" const field = {json.dumps(model_input)} ? document.querySelector({json.dumps(model_input)}) : null;"
        f" const root = document.getElementById({json.dumps(tab)});"
        f" const line = document.getElementById({json.dumps(banner)});"
        " if (root) root.classList.add('av-pending');"
        " if (line) line.setAttribute('data-pending', (words[lang] || words.en).replace('{model}',"
        " field ? field.value : ''));"
        " return args; }"
    )


def done_js(tab: str) -> str:
    """The tab's result (or its failure) is on the page: the pending mark goes (browser only)."""
    root = f"document.getElementById({json.dumps(tab)})"
    return f"() => {{ const root = {root}; if (root) root.classList.remove('av-pending'); }}"


PENDING_CSS = """
/* A click marks its tab pending in the browser (flow.pending_js): the old result's views are hidden and the
   banner says what is being analysed, until the one event that analyses and draws has answered. */
.av-pending .av-result { visibility: hidden; }
.av-pending [data-pending] > * { display: none; }
.av-pending [data-pending]::before { content: attr(data-pending); display: block; padding: 0.25rem 0; }
"""


@dataclass(frozen=True)
class OneTrip:
    """One tab's click in one server round trip: the browser hides the old views (``pending_js``), one event
    analyses and returns every view it draws, a failure fills the banner. The public API endpoint runs the
    same analysis with its own, fixed outputs, and no page event triggers it (``publish``).

    ``run`` takes ``run_in`` (the language last) and returns the ``{component: update}`` of every view;
    ``api`` takes ``api_in`` and returns ``api_out`` (what an API caller gets, ``gr.State`` left out).
    """

    scope: str  # the tab, for the failures the boundary remembers
    tab: str  # the tab's elem_id (marked pending in the browser)
    banner: str  # the banner's elem_id (says what is being analysed)
    model: str | None  # the model list's elem_id (its shown title goes into the banner), if the tab has one
    run: Callable[..., Updates]
    run_in: Sequence[gr.components.Component]
    outputs: Sequence[gr.components.Component]
    failed: Callable[..., Updates]  # (*failed_in, request) -> updates
    failed_in: Sequence[gr.components.Component]
    failed_out: Sequence[gr.components.Component]
    api: Callable[..., Any]
    api_in: Sequence[gr.components.Component]
    api_out: Sequence[gr.components.Component]
    api_name: str
    api_description: str
    preprocess: bool = True
    phrase: str = "pending"  # what the banner says while the click runs (a ``views.say`` key; ``{model}`` filled)

    def publish(self) -> Dependency:
        """The public endpoint: the same analysis with the API's outputs, triggered by no component."""
        return gr.on(
            triggers=[],
            fn=guarded(self.api, scope=self.scope),
            inputs=list(self.api_in),
            outputs=list(self.api_out),
            api_name=self.api_name,
            api_description=self.api_description,
            api_visibility="public",
            concurrency_id=HEAVY,
            preprocess=self.preprocess,
        )

    def on(self, trigger: Chain) -> Dependency:
        """Attach the click to ``trigger`` (``button.click``, ``dependency.then`` / ``.success``)."""
        event = trigger(
            guarded(self.run, scope=self.scope),
            inputs=list(self.run_in),
            outputs=list(self.outputs),
            js=pending_js(self.tab, self.banner, self.model, self.phrase),
            api_visibility="private",
            concurrency_id=HEAVY,
            preprocess=self.preprocess,
        )
        event.success(None, js=done_js(self.tab))
        event.failure(
            self.failed,
            inputs=list(self.failed_in),
            outputs=list(self.failed_out),
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        ).then(None, js=done_js(self.tab))
        return event


Chain = Callable[..., Dependency]  # ``dependency.then`` (or ``.success``): where a hook attaches its event


@dataclass(frozen=True)
class TabHooks:
    """What a tab attaches to the page's own events: its arrival example (after the page's language is known),
    and its redraw in a new language (after the labels have changed). Each takes the ``.then`` to attach to."""

    arrival: Callable[[Chain], None]
    on_language: Callable[[Chain], None]
