"""The shape every analysing tab shares: clear the old views, analyse once, draw the views from the state.

``pending`` blanks every view of the previous result (and says what is being analysed) before the network
runs; the analysis (public for the tab's Analyse button, private for its examples) returns its outputs and
the result for ``gr.State``; the views are drawn from that state only if the analysis succeeded, and a
failure leaves the banner saying there is no result. Nothing on screen ever belongs to an older result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.events import Dependency

from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT


@dataclass(frozen=True)
class AnalysisFlow:
    """One tab's chain: what to clear, what to analyse, what to draw, and where the banner is."""

    pending: Callable[..., tuple]
    pending_in: Sequence[gr.components.Component]
    pending_out: Sequence[gr.components.Component]
    analyse: Callable[..., tuple]
    analyse_in: Sequence[gr.components.Component]
    analyse_out: Sequence[gr.components.Component]
    show: Callable[..., tuple]
    show_in: Sequence[gr.components.Component]
    show_out: Sequence[gr.components.Component]
    banner: gr.Markdown
    failed_text: Any  # a translated phrase (gr.I18n) or plain text
    api_name: str
    api_description: str
    preprocess: bool = True

    def chain(self, start: Dependency, public: bool, only_after_success: bool = False) -> Dependency:
        """pending → analysis (the public endpoint when ``public``) → views; a failure sets the banner.

        ``only_after_success``: the chain runs only if ``start`` succeeded (e.g. a hand-off that may refuse).
        """
        after = start.success if only_after_success else start.then
        analysis = after(
            guarded(self.pending),
            inputs=list(self.pending_in),
            outputs=list(self.pending_out),
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        ).then(
            guarded(self.analyse),
            inputs=list(self.analyse_in),
            outputs=list(self.analyse_out),
            api_name=self.api_name if public else None,
            api_description=self.api_description if public else None,
            api_visibility="public" if public else "private",
            concurrency_id=HEAVY,
            preprocess=self.preprocess,
        )
        failed_text = self.failed_text
        analysis.failure(lambda: failed_text, outputs=[self.banner], queue=False, api_visibility="private")
        return self.draw(analysis.success)

    def draw(self, after: Callable[..., Dependency]) -> Dependency:
        """Chain the views after ``after`` (``dependency.success`` or ``.then``)."""
        return after(
            guarded(self.show),
            inputs=list(self.show_in),
            outputs=list(self.show_out),
            api_visibility="private",
            concurrency_id=LIGHT,
        )


def start(button: gr.Button) -> Dependency:
    """A button's click as the head of a chain (the chain's first step does the work)."""
    return button.click(_nothing, queue=False, api_visibility="private")


def _nothing() -> None:
    return None


def clear_on_change(controls: Sequence[Any], flow: AnalysisFlow, stale: Callable[..., tuple]) -> None:
    """When the user changes the input or the model, the old result's views go (the banner says why)."""
    for control in controls:
        control.input(
            guarded(stale), inputs=list(flow.pending_in), outputs=list(flow.pending_out), queue=False,
            api_visibility="private",
        )  # fmt: skip
