"""The Compare tab: one input through networks that differ in their attention module, side by side.

Pressing Compare first shows every column of the group waiting and the banner counting networks; the networks
then run one by one with a progress bar that names how many are done (a download or a slow network shows
progress instead of a silent wait). A network that cannot run here fills its own column with the reason; the
others are shown. Each column says when the input is outside what its network learned. (The columns arrive in
one update: Gradio 6.31 streams a generator's dict updates as diffs that lost values on the way.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.paths import source_name
from visualiser.ui import views
from visualiser.ui.banners import Banners, banner_text
from visualiser.ui.boundary import log_failure
from visualiser.ui.components import HEAVY, LIGHT, image_examples, image_input, image_source, note, picture, png_image
from visualiser.ui.tabs.flow import Chain, TabHooks, Updates

MAX_COLUMNS = 4
GROUP_CHOICES = (("group_embedded", "embedded"), ("group_imagenet", "imagenet"))


@dataclass
class CompareColumnParts:
    """The components of one column."""

    column: gr.Column
    title: gr.Markdown
    notice: gr.Markdown
    label: gr.Label
    overview: gr.Image
    overview_note: gr.Markdown
    grid: gr.Image
    grid_note: gr.Markdown

    def components(self) -> list[Any]:
        return [self.column, self.title, self.notice, self.label, self.overview, self.overview_note, self.grid,
                self.grid_note]  # fmt: skip


@dataclass
class CompareTab:
    """Handles the tests need."""

    image: gr.Image
    group: gr.Radio
    run: gr.Button
    showing: gr.Markdown
    columns: list[CompareColumnParts]
    hooks: TabHooks


def _column(i: int, i18n: gr.I18n) -> CompareColumnParts:
    with gr.Column(visible=False, min_width=220, elem_id=f"compare-column-{i}") as column:
        title = gr.Markdown(elem_id=f"compare-title-{i}")
        notice = gr.Markdown(visible=False, elem_id=f"compare-notice-{i}", elem_classes=["notice"])
        label = gr.Label(num_top_classes=5, label=i18n("predictions"), elem_id=f"compare-label-{i}")
        overview = png_image(i18n("channel_overview"), elem_id=f"compare-overview-{i}")
        overview_note = gr.Markdown(visible=False, elem_id=f"compare-overview-note-{i}", elem_classes=["panel-note"])
        grid = png_image(i18n("spatial_grid"), elem_id=f"compare-grid-{i}")
        grid_note = gr.Markdown(visible=False, elem_id=f"compare-grid-note-{i}", elem_classes=["panel-note"])
    return CompareColumnParts(column, title, notice, label, overview, overview_note, grid, grid_note)


def column_updates(parts: CompareColumnParts, column: views.CompareColumn | None, lang: str) -> Updates:
    """One column: a network's result, or the reason it could not run; hidden when there is no column."""
    if column is None:
        return {parts.column: gr.update(visible=False), parts.title: "", parts.label: None,
                **note(parts.notice, ""), parts.overview: gr.update(value=None, visible=False),
                **note(parts.overview_note, ""), parts.grid: gr.update(value=None, visible=False),
                **note(parts.grid_note, "")}  # fmt: skip
    title = f"**{column.title}**  \n`{column.name}`"
    if column.failure is not None:
        failure = banner_text(column.failure, lang, "column_failed")
        return {**column_updates(parts, None, lang), parts.column: gr.update(visible=True), parts.title: title,
                parts.label: gr.update(value=None, visible=False), **note(parts.overview_note, failure)}  # fmt: skip
    return {
        parts.column: gr.update(visible=True), parts.title: title, **note(parts.notice, column.notice),
        parts.label: gr.update(value=column.label, visible=True),
        **picture(parts.overview, views.Shown(column.overview)), **note(parts.overview_note, column.overview_note),
        **picture(parts.grid, views.Shown(column.spatial)), **note(parts.grid_note, column.spatial_note),
    }  # fmt: skip


def waiting_updates(parts: CompareColumnParts, name: str, lang: str) -> Updates:
    """A column whose network has not finished yet."""
    title = views.model_title(name, lang)
    return {**column_updates(parts, None, lang), parts.column: gr.update(visible=True),
            parts.title: views.say(lang, "column_waiting", model=title),
            parts.label: gr.update(value=None, visible=False)}  # fmt: skip


def build_compare_tab(i18n: gr.I18n, banners: Banners, demo: gr.Blocks, language: gr.Radio) -> CompareTab:
    """Lay out the Compare tab inside the current Blocks and wire its events."""
    sets = catalogue.compare_sets()
    groups = [(i18n(key), value) for key, value in GROUP_CHOICES if value in sets] or [
        (i18n("group_embedded"), "embedded")
    ]
    state = gr.State(None, time_to_live=3600)  # (image source, group) of the comparison on screen
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            image = image_input(i18n("image_input"), height=260, elem_id="compare-input")
            group = gr.Radio(choices=groups, value=groups[0][1], label=i18n("compare_group"), elem_id="compare-group")
            run = gr.Button(i18n("compare_run"), variant="primary", elem_id="compare-run")
        with gr.Column(scale=6):
            gr.Markdown(i18n("compare_info"))
            examples = image_examples()
            if examples:
                gr.Examples(
                    examples=[[p] for p in examples],
                    inputs=[image],
                    label=i18n("examples"),
                    examples_per_page=len(examples),  # one page, as on the Image tab
                    api_visibility="private",
                )
    showing = gr.Markdown(views.say("en", "compare_nothing"), elem_id="compare-showing", elem_classes=["showing"])
    with gr.Row(equal_height=False):
        columns = [_column(i, i18n) for i in range(MAX_COLUMNS)]
    outputs = [showing, state, *(c for parts in columns for c in parts.components())]

    def hidden(lang: str, banner: str | None = None) -> Updates:
        """No column of an earlier comparison stays on screen once the image or the group changes."""
        updates: Updates = {showing: banner or views.say(lang, "compare_stale"), state: None}
        for parts in columns:
            updates |= column_updates(parts, None, lang)
        return updates

    def waiting(chosen: str, lang: str) -> Updates:
        """Before the networks run: every column of the group says it is waiting, the banner says how many."""
        try:
            names = views.compare_names(chosen)[:MAX_COLUMNS]
        except Exception:  # noqa: BLE001  (an unknown group: the comparison step says why)
            return hidden(lang)
        updates = hidden(lang, views.say(lang, "compare_running", count=len(names), done=0))
        for parts, name in zip(columns, names, strict=False):
            updates |= waiting_updates(parts, name, lang)
        return updates

    def compare(
        picture_: Any,
        chosen: str,
        lang: str,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Updates:
        """Every network of the group on the input, its progress counted network by network; a network that
        cannot run here fills its own column with the reason, and the banner counts them."""
        try:
            source = image_source(picture_)
            names = views.compare_names(chosen)[:MAX_COLUMNS]
        except Exception as error:  # noqa: BLE001  (said in the banner, logged as it deserves)
            log_failure("compare", error)
            return hidden(lang, banner_text(views.user_message(error, lang), lang))
        updates = hidden(lang)
        failed = 0
        for done, (parts, name) in enumerate(zip(columns, names, strict=False)):
            progress((done, len(names)), desc=views.say(lang, "compare_running", count=len(names), done=done))
            try:
                column = views.compare_column(source, name, lang)
            except Exception as error:  # noqa: BLE001  (the input is unusable: said once, in the banner)
                log_failure("compare", error)
                return hidden(lang, banner_text(views.user_message(error, lang), lang))
            failed += column.failure is not None
            updates |= column_updates(parts, column, lang)
        label_ = source_name(source) if isinstance(source, str) else ""
        key = "compare_partial" if failed else "compare_done"
        banner = views.say(lang, key, source=label_ or views.say(lang, "image"), count=len(names), failed=failed)
        return updates | {showing: banner, state: (source, chosen)}

    run.click(
        waiting, inputs=[group, language], outputs=outputs, queue=False, show_progress="hidden",
        api_visibility="private",
    ).then(
        compare,
        inputs=[image, group, language],
        outputs=outputs,
        api_visibility="private",
        concurrency_id=HEAVY,
        preprocess=False,
    )  # fmt: skip
    for control in (image, group):
        control.input(hidden, inputs=[language], outputs=outputs, queue=False, api_visibility="private")

    def redraw(saved: Any, lang: str) -> Updates:
        """The language changed: the comparison on screen again, in the new language (results are cached)."""
        if saved is None:
            return hidden(lang, views.say(lang, "compare_nothing"))
        return compare(saved[0], saved[1], lang)

    def on_language(after: Chain) -> None:
        after(redraw, inputs=[state, language], outputs=outputs, api_visibility="private", concurrency_id=LIGHT)

    def arrive(chosen: str, lang: str) -> Updates:
        """The shipped example's comparison (its results were computed once, at warm-up)."""
        path, _ = views.compare_arrival(chosen)
        if path is None:
            return {showing: views.say(lang, "compare_nothing")}
        return {image: path, **compare(path, chosen, lang)}

    def arrival(after: Chain) -> None:
        after(
            arrive,
            inputs=[group, language],
            outputs=[image, *outputs],
            api_visibility="private",
            concurrency_id=LIGHT,
            preprocess=False,
        )

    return CompareTab(image, group, run, showing, columns, TabHooks(arrival, on_language))
