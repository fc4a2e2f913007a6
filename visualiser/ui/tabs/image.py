"""The Image tab's layout: predictions, what the model knows, channel gates, spatial maps, internals, and more.

The events are wired in ``image_events``; this module only places components and names them. Every section
a model may be unable to fill has a note beside it (``*_note``), which says why when the section is empty.
Figures are pictures (``png_image``: PNGs written at zlib level 1), never ``gr.Plot``: nothing in them is
interactive, and Gradio's own rasterising of a matplotlib figure cost more than drawing it.
Choice values (``NORMALISE_CHOICES``, ``INTERVENTION_CHOICES``) are plain words that are never i18n keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from gradio.helpers import Examples

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.components import figure_note, image_examples, image_input, png_image

NORMALISE_CHOICES = (("norm_block", "block"), ("norm_shared", "shared"), ("norm_fixed", "fixed01"))
INTERVENTION_CHOICES = (("iv_identity", "identity"), ("iv_mute", "mute"))
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")
MUTE_DEFAULT = 5


@dataclass
class ImageTab:
    """Every component of the tab (the events, other tabs and the tests use them)."""

    state: gr.State
    folds: gr.State  # which folds (views.FOLDS) are open on this page: their views are drawn, the others wait
    image: gr.Image
    model: gr.Dropdown
    domain: gr.Markdown
    checkpoint: gr.File
    labels_file: gr.File
    arch: gr.Dropdown
    load_checkpoint: gr.Button
    checkpoint_info: gr.Markdown
    run: gr.Button
    predictions: gr.Label
    notice: gr.Markdown
    switch: gr.Button
    timings: gr.Markdown
    summary: gr.JSON
    examples: gr.Examples | None
    showing: gr.Markdown
    channel_section: gr.Column
    spatial_section: gr.Column
    more_section: gr.Column
    channel_note: gr.Markdown
    channel_group: gr.Column
    overview: gr.Image
    barcode_fold: gr.Accordion
    barcode: gr.Image
    barcode_note: gr.Markdown
    block: gr.Dropdown
    sort: gr.Checkbox
    chart: gr.Image
    chart_note: gr.Markdown
    spatial_note: gr.Markdown
    spatial_group: gr.Column
    alpha: gr.Slider
    cmap: gr.Dropdown
    normalise: gr.Radio
    overlay: gr.Image
    grid: gr.Image
    internals_fold: gr.Accordion
    channel_internals: gr.Image
    channel_internals_note: gr.Markdown
    spatial_internals: gr.Image
    spatial_internals_note: gr.Markdown
    reference_fold: gr.Accordion
    reference: gr.Image
    reference_note: gr.Markdown
    gradcam_run: gr.Button
    gradcam_image: gr.Image
    agreement: gr.Markdown
    intervention_note: gr.Markdown
    intervention_group: gr.Column
    mode: gr.Radio
    mute_top: gr.Slider
    intervene_run: gr.Button
    before: gr.Label
    after: gr.Label
    intervention_text: gr.Markdown
    bundle_prepare: gr.Button
    bundle_download: gr.DownloadButton
    bundle_note: gr.Markdown


def layout_image_tab(i18n: gr.I18n, banners: Banners, default: str | None = None) -> ImageTab:
    """Place the Image tab's components inside the current Blocks (no events); ``default``: the model shown."""
    state = gr.State(None, time_to_live=3600)
    folds = gr.State(frozenset())
    default = default or catalogue.default_model("image")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            image = image_input(i18n("image_input"), height=320, elem_id="image-input")
            model = gr.Dropdown(
                choices=catalogue.model_choices("image"),
                value=default,
                label=i18n("model"),
                info=i18n("model_info"),
                elem_id="image-model",
            )
            domain = gr.Markdown(banners.domain(default, "en"), elem_id="image-domain", elem_classes=["domain"])
            run = gr.Button(i18n("analyse"), variant="primary", elem_id="image-run")
            with gr.Accordion(i18n("own_network"), open=False, elem_id="image-own"):
                gr.Markdown(i18n("own_network_info"))
                checkpoint = gr.File(
                    label=i18n("checkpoint_file"), file_types=list(CHECKPOINT_SUFFIXES), elem_id="image-checkpoint"
                )
                with gr.Row():
                    labels_file = gr.File(label=i18n("labels_file"), file_types=[".txt"], elem_id="image-labels-file")
                    arch = gr.Dropdown(
                        choices=[(i18n("arch_auto"), ""), *catalogue.architecture_choices()],
                        value="",
                        label=i18n("arch"),
                        elem_id="image-arch",
                    )
                load_checkpoint = gr.Button(i18n("load_checkpoint"), elem_id="image-load-checkpoint")
                checkpoint_info = gr.Markdown(elem_id="image-checkpoint-info")
        with gr.Column(scale=5, min_width=320):
            predictions = gr.Label(
                num_top_classes=5, label=i18n("predictions"), elem_id="image-predictions", elem_classes=["av-result"]
            )
            notice = gr.Markdown(visible=False, elem_id="image-notice", elem_classes=["notice", "av-result"])
            switch = gr.Button(i18n("switch_photo_model"), visible=False, size="sm", elem_id="image-switch")
            timings = gr.Markdown(elem_classes=["timings", "av-result"], elem_id="image-timings")
            with gr.Accordion(i18n("raw_result"), open=False):
                summary = gr.JSON(label=i18n("raw_result"), open=False)
    files = image_examples(embedded_first=catalogue.is_embedded(default))
    examples = None
    if files:
        examples = gr.Examples(
            examples=[[path] for path in files],
            inputs=[image],
            label=i18n("examples"),
            examples_per_page=len(files),  # one page: Gradio's "Pages:" line is English whatever the language
            api_visibility="private",
        )
    showing = gr.Markdown(banners.nothing("en"), elem_id="image-showing", elem_classes=["showing"])
    with gr.Column(elem_id="image-channel-section", elem_classes=["av-result"]) as channel_section:
        gr.Markdown(i18n("channel_heading"))
        channel_note = figure_note("image-channel-note")
        with gr.Column(elem_id="image-channel-group") as channel_group:
            overview = png_image(i18n("channel_overview"), elem_id="image-overview")
            with gr.Accordion(i18n("barcode"), open=False, elem_id="image-barcode-fold") as barcode_fold:
                barcode = png_image(i18n("barcode"), elem_id="image-barcode")
                barcode_note = figure_note("image-barcode-note")
            with gr.Row():
                block = gr.Dropdown(
                    choices=[], label=i18n("block"), info=i18n("block_info"), scale=3, elem_id="image-block"
                )
                sort = gr.Checkbox(value=True, label=i18n("sorted"), scale=1, elem_id="image-sort")
            chart = png_image(i18n("block_chart"), elem_id="image-chart")
            chart_note = figure_note("image-chart-note")
    with gr.Column(elem_id="image-spatial-section", elem_classes=["av-result"]) as spatial_section:
        gr.Markdown(i18n("spatial_heading"))
        spatial_note = figure_note("image-spatial-note")
        with gr.Column(elem_id="image-spatial-group") as spatial_group:
            with gr.Row():
                alpha = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label=i18n("alpha"), elem_id="image-alpha")
                cmap = gr.Dropdown(
                    choices=list(views.COLORMAPS), value="viridis", label=i18n("colormap"), elem_id="image-cmap"
                )
                normalise = gr.Radio(
                    choices=[(i18n(key), value) for key, value in NORMALISE_CHOICES],
                    value="block",
                    label=i18n("normalise"),
                    elem_id="image-normalise",
                )
            with gr.Row(equal_height=True):
                overlay = png_image(i18n("overlay"), elem_id="image-overlay")
                grid = png_image(i18n("spatial_grid"), elem_id="image-grid")
    with gr.Column(elem_id="image-more-section", elem_classes=["av-result"]) as more_section:
        more = _layout_more(i18n)
    placed = {k: v for k, v in locals().items() if isinstance(v, gr.blocks.Block | Examples) or v is None}
    return ImageTab(**{name: (more | placed)[name] for name in ImageTab.__dataclass_fields__})


def _layout_more(i18n: gr.I18n) -> dict[str, gr.blocks.Block]:
    """The folds under the maps (internals, class reference, Grad-CAM, interventions) and the bundle."""
    with gr.Accordion(i18n("internals"), open=False, elem_id="image-internals-fold") as internals_fold:
        gr.Markdown(i18n("internals_info"))
        channel_internals = png_image(i18n("channel_internals"), elem_id="image-channel-internals")
        channel_internals_note = figure_note("image-channel-internals-note")
        spatial_internals = png_image(i18n("spatial_internals"), elem_id="image-spatial-internals")
        spatial_internals_note = figure_note("image-spatial-internals-note")
    with gr.Accordion(i18n("reference"), open=False, elem_id="image-reference-fold") as reference_fold:
        gr.Markdown(i18n("reference_info"))
        reference = png_image(i18n("reference"), elem_id="image-reference")
        reference_note = figure_note("image-reference-note")
    with gr.Accordion(i18n("gradcam"), open=False, elem_id="image-gradcam-fold"):
        gr.Markdown(i18n("gradcam_info"))
        gradcam_run = gr.Button(i18n("gradcam_run"), elem_id="image-gradcam-run")
        gradcam_image = png_image(i18n("gradcam"), elem_id="image-gradcam", visible=False)
        agreement = gr.Markdown(elem_id="image-agreement")
    with gr.Accordion(i18n("intervention"), open=False, elem_id="image-intervention-fold"):
        gr.Markdown(i18n("intervention_info"))
        intervention_note = figure_note("image-intervention-note")
        with gr.Column(elem_id="image-intervention-group") as intervention_group:
            with gr.Row():
                mode = gr.Radio(
                    choices=[(i18n(key), value) for key, value in INTERVENTION_CHOICES],
                    value="identity",
                    label=i18n("intervention_mode"),
                    elem_id="image-mode",
                )
                mute_top = gr.Slider(
                    1, 512, value=MUTE_DEFAULT, step=1, label=i18n("mute_top"), info=i18n("mute_info"),
                    elem_id="image-mute",
                )  # fmt: skip
            intervene_run = gr.Button(i18n("intervene"), elem_id="image-intervene")
            with gr.Row():
                before = gr.Label(num_top_classes=5, label=i18n("before"), elem_id="image-before")
                after = gr.Label(num_top_classes=5, label=i18n("after"), elem_id="image-after")
            intervention_text = gr.Markdown(elem_id="image-intervention-text")
    with gr.Row():
        bundle_prepare = gr.Button(i18n("bundle_prepare"), elem_id="image-bundle-prepare")
        bundle_download = gr.DownloadButton(i18n("bundle_download"), visible=False, elem_id="image-bundle-download")
    bundle_note = figure_note("image-bundle-note")
    return {k: v for k, v in locals().items() if isinstance(v, gr.blocks.Block)}  # the folds are Blocks too
