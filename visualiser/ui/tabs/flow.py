"""The shape every analysing tab shares: clear the old views, analyse once, draw the views from the state.

``pending`` blanks every view of the previous result (and says what is being analysed) before the network
runs; the analysis (public for the tab's Analyse button, private for its examples) returns its outputs and
the result for ``gr.State``; the views are drawn from that state only if the analysis succeeded. A failure
runs ``failed``, which reads the failure the error boundary remembered for this session and puts it in the
tab's banner (short sentence, detail folded), where it stays until the next action. Nothing on screen ever
belongs to an older result.

Every step returns a ``{component: update}`` mapping: a step names only what it changes, so no step depends
on the position of a component in a list, and a later change (one round trip per click, lazy figures) can
regroup the steps without re-counting outputs. ``outputs`` lists every component any step may update.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.events import Dependency

from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT

Updates = dict[Any, Any]


@dataclass(frozen=True)
class AnalysisFlow:
    """One tab's chain: what to clear, what to analyse, what to draw, what to say on failure."""

    scope: str  # the tab, for the failures the boundary remembers
    pending: Callable[..., Updates]
    pending_in: Sequence[gr.components.Component]
    analyse: Callable[..., Any]
    analyse_in: Sequence[gr.components.Component]
    analyse_out: Sequence[gr.components.Component]
    show: Callable[..., Updates]
    show_in: Sequence[gr.components.Component]
    failed: Callable[..., Updates]  # (*failed_in, request) -> updates
    failed_in: Sequence[gr.components.Component]
    outputs: Sequence[gr.components.Component]  # what pending and show may update
    failed_out: Sequence[gr.components.Component]  # what the failure step may update (e.g. the model list too)
    api_name: str
    api_description: str
    preprocess: bool = True

    def chain(self, start: Dependency, public: bool, only_after_success: bool = False) -> Dependency:
        """pending → analysis (the public endpoint when ``public``) → views; a failure fills the banner.

        ``only_after_success``: the chain runs only if ``start`` succeeded (e.g. a hand-off that may refuse).
        """
        after = start.success if only_after_success else start.then
        analysis = after(
            guarded(self.pending),
            inputs=list(self.pending_in),
            outputs=list(self.outputs),
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        ).then(
            guarded(self.analyse, scope=self.scope),
            inputs=list(self.analyse_in),
            outputs=list(self.analyse_out),
            api_name=self.api_name if public else None,
            api_description=self.api_description if public else None,
            api_visibility="public" if public else "private",
            concurrency_id=HEAVY,
            preprocess=self.preprocess,
        )
        analysis.failure(
            self.failed,
            inputs=list(self.failed_in),
            outputs=list(self.failed_out),
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
        return self.draw(analysis.success)

    def draw(self, after: Callable[..., Dependency]) -> Dependency:
        """Chain the views after ``after`` (``dependency.success`` or ``.then``)."""
        return after(
            guarded(self.show),
            inputs=list(self.show_in),
            outputs=list(self.outputs),
            api_visibility="private",
            concurrency_id=LIGHT,
        )


Chain = Callable[..., Dependency]  # ``dependency.then`` (or ``.success``): where a hook attaches its event


@dataclass(frozen=True)
class TabHooks:
    """What a tab attaches to the page's own events: its arrival example (after the page's language is known),
    and its redraw in a new language (after the labels have changed). Each takes the ``.then`` to attach to."""

    arrival: Callable[[Chain], None]
    on_language: Callable[[Chain], None]


def start(button: gr.Button) -> Dependency:
    """A button's click as the head of a chain (the chain's first step does the work)."""
    return button.click(_nothing, queue=False, api_visibility="private")


def _nothing() -> None:
    return None


def clear_on_change(controls: Sequence[Any], flow: AnalysisFlow, stale: Callable[..., Updates]) -> None:
    """When the user changes the input or the model, the old result's views go (the banner says why)."""
    for control in controls:
        control.input(
            guarded(stale), inputs=list(flow.pending_in), outputs=list(flow.outputs), queue=False,
            show_progress="hidden", api_visibility="private",
        )  # fmt: skip
