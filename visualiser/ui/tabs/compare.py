"""The Compare tab: one input through networks that differ in their attention module, side by side."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT, image_examples, image_input, image_source, png_image

MAX_COLUMNS = 4
GROUP_CHOICES = (("group_embedded", "embedded"), ("group_imagenet", "imagenet"))


@dataclass
class CompareTab:
    """Handles the tests need."""

    image: gr.Image
    group: gr.Radio
    run: gr.Button
    titles: list[gr.Markdown]
    labels: list[gr.Label]


def build_compare_tab(i18n: gr.I18n, demo: gr.Blocks) -> CompareTab:
    """Lay out the Compare tab inside the current Blocks and wire its events."""
    sets = catalogue.compare_sets()
    groups = [(i18n(key), value) for key, value in GROUP_CHOICES if value in sets] or [
        (i18n("group_embedded"), "embedded")
    ]
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=300):
            image = image_input(i18n("image_input"), height=260, elem_id="compare-input")
            group = gr.Radio(choices=groups, value=groups[0][1], label=i18n("compare_group"))
            run = gr.Button(i18n("compare_run"), variant="primary", elem_id="compare-run")
        with gr.Column(scale=6):
            gr.Markdown(i18n("compare_info"))
            examples = image_examples()
            if examples:
                gr.Examples(
                    examples=[[p] for p in examples], inputs=[image], label=i18n("examples"), api_visibility="private"
                )
    columns, titles, labels, overviews, grids = [], [], [], [], []
    with gr.Row(equal_height=False):
        for i in range(MAX_COLUMNS):
            with gr.Column(visible=False, min_width=220) as column:
                titles.append(gr.Markdown())
                labels.append(gr.Label(num_top_classes=5, label=i18n("predictions"), elem_id=f"compare-label-{i}"))
                overviews.append(png_image(i18n("channel_overview"), elem_id=f"compare-overview-{i}"))
                grids.append(png_image(i18n("spatial_grid")))
            columns.append(column)

    def columns_for(results: list[views.CompareColumn]) -> list:
        out: list = []
        for i in range(MAX_COLUMNS):
            if i < len(results):
                r = results[i]
                grid = gr.Image(
                    value=None if r.spatial is None else str(views.write_png(r.spatial)),
                    visible=r.spatial is not None,
                )
                out += [gr.Column(visible=True), f"**{r.title}**  \n`{r.name}`", r.label, r.overview, grid]
            else:
                out += [gr.Column(visible=False), "", None, None, None]
        return out

    def compare(picture: object, chosen: str) -> list:
        return columns_for(views.compare_models(image_source(picture), chosen))

    def hidden() -> list:
        """No column of an earlier comparison stays on screen once the image or the group changes."""
        return columns_for([])

    def arrive(chosen: str) -> list:
        path, results = views.compare_arrival(chosen)
        return [path, *columns_for(results)]

    outputs = []
    for i in range(MAX_COLUMNS):
        outputs += [columns[i], titles[i], labels[i], overviews[i], grids[i]]
    run.click(hidden, outputs=outputs, queue=False, api_visibility="private").then(
        guarded(views.png_files(compare)),
        inputs=[image, group],
        outputs=outputs,
        api_visibility="private",
        concurrency_id=HEAVY,
        preprocess=False,
    )
    for control in (image, group):
        control.input(hidden, outputs=outputs, queue=False, api_visibility="private")
    demo.load(
        guarded(views.png_files(arrive)),
        inputs=[group],
        outputs=[image, *outputs],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    return CompareTab(image, group, run, titles, labels)
