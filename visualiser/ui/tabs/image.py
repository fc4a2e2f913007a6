"""The Image tab's layout: predictions, what the model knows, channel gates, spatial maps, internals, and more.

The events are wired in ``image_events``; this module only places components and names them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.components import image_examples, image_input, png_image

NORMALISE_CHOICES = (("norm_block", "block"), ("norm_shared", "shared"), ("norm_fixed", "fixed01"))
INTERVENTION_CHOICES = (("iv_identity", "identity"), ("iv_mute", "mute"))
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


@dataclass
class ImageTab:
    """Every component of the tab (the events, other tabs and the tests use them)."""

    state: gr.State
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
    overview: gr.Image
    barcode: gr.Image
    block: gr.Dropdown
    sort: gr.Checkbox
    chart: gr.Plot
    spatial_group: gr.Group
    alpha: gr.Slider
    cmap: gr.Dropdown
    normalise: gr.Radio
    overlay: gr.Image
    grid: gr.Image
    channel_internals: gr.Plot
    spatial_internals: gr.Plot
    reference: gr.Plot
    gradcam_run: gr.Button
    gradcam_image: gr.Image
    agreement: gr.Markdown
    mode: gr.Radio
    mute_top: gr.Slider
    intervene_run: gr.Button
    before: gr.Label
    after: gr.Label
    intervention_text: gr.Markdown
    bundle_prepare: gr.Button
    bundle_download: gr.DownloadButton


def layout_image_tab(i18n: gr.I18n, banners: Banners, default: str | None = None) -> ImageTab:
    """Place the Image tab's components inside the current Blocks (no events); ``default``: the model shown."""
    state = gr.State(None, time_to_live=3600)
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
            domain = gr.Markdown(banners.domain(default), elem_id="image-domain", elem_classes=["domain"])
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
            predictions = gr.Label(num_top_classes=5, label=i18n("predictions"), elem_id="image-predictions")
            notice = gr.Markdown(visible=False, elem_id="image-notice", elem_classes=["notice"])
            switch = gr.Button(i18n("switch_photo_model"), visible=False, size="sm", elem_id="image-switch")
            timings = gr.Markdown(elem_classes=["timings"])
            with gr.Accordion(i18n("raw_result"), open=False):
                summary = gr.JSON(label=i18n("raw_result"), open=False)
    files = image_examples(embedded_first=catalogue.is_embedded(default))
    examples = None
    if files:
        examples = gr.Examples(
            examples=[[path] for path in files],
            inputs=[image],
            label=i18n("examples"),
            examples_per_page=12,
            api_visibility="private",
        )
    showing = gr.Markdown(banners.nothing(), elem_id="image-showing", elem_classes=["showing"])
    gr.Markdown(i18n("channel_heading"))
    overview = png_image(i18n("channel_overview"), elem_id="image-overview")
    with gr.Accordion(i18n("barcode"), open=False):
        barcode = png_image(i18n("barcode"), elem_id="image-barcode")
    with gr.Row():
        block = gr.Dropdown(choices=[], label=i18n("block"), info=i18n("block_info"), scale=3, elem_id="image-block")
        sort = gr.Checkbox(value=True, label=i18n("sorted"), scale=1)
    chart = gr.Plot(label=i18n("block_chart"), elem_id="image-chart")
    with gr.Group(visible=True) as spatial_group:
        gr.Markdown(i18n("spatial_heading"))
        with gr.Row():
            alpha = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label=i18n("alpha"), elem_id="image-alpha")
            cmap = gr.Dropdown(choices=list(views.COLORMAPS), value="viridis", label=i18n("colormap"))
            normalise = gr.Radio(
                choices=[(i18n(key), value) for key, value in NORMALISE_CHOICES], value="block", label=i18n("normalise")
            )
        with gr.Row():
            overlay = png_image(i18n("overlay"), elem_id="image-overlay")
            grid = png_image(i18n("spatial_grid"), elem_id="image-grid")
    with gr.Accordion(i18n("internals"), open=False):
        gr.Markdown(i18n("internals_info"))
        channel_internals = gr.Plot(label=i18n("channel_internals"))
        spatial_internals = gr.Plot(label=i18n("spatial_internals"))
    with gr.Accordion(i18n("reference"), open=False):
        gr.Markdown(i18n("reference_info"))
        reference = gr.Plot(label=i18n("reference"), elem_id="image-reference")
    with gr.Accordion(i18n("gradcam"), open=False):
        gr.Markdown(i18n("gradcam_info"))
        gradcam_run = gr.Button(i18n("gradcam_run"), elem_id="image-gradcam-run")
        gradcam_image = png_image(i18n("gradcam"), elem_id="image-gradcam")
        agreement = gr.Markdown()
    with gr.Accordion(i18n("intervention"), open=False):
        gr.Markdown(i18n("intervention_info"))
        with gr.Row():
            mode = gr.Radio(
                choices=[(i18n(key), value) for key, value in INTERVENTION_CHOICES],
                value="identity",
                label=i18n("intervention_mode"),
            )
            mute_top = gr.Slider(1, 512, value=5, step=1, label=i18n("mute_top"))
        intervene_run = gr.Button(i18n("intervene"), elem_id="image-intervene")
        with gr.Row():
            before = gr.Label(num_top_classes=5, label=i18n("before"))
            after = gr.Label(num_top_classes=5, label=i18n("after"))
        intervention_text = gr.Markdown()
    with gr.Row():
        bundle_prepare = gr.Button(i18n("bundle_prepare"), elem_id="image-bundle-prepare")
        bundle_download = gr.DownloadButton(i18n("bundle_download"), visible=False, elem_id="image-bundle-download")
    return ImageTab(
        state, image, model, domain, checkpoint, labels_file, arch, load_checkpoint, checkpoint_info, run,
        predictions, notice, switch, timings, summary, examples, showing,
        overview, barcode, block, sort, chart, spatial_group, alpha, cmap, normalise, overlay, grid,
        channel_internals, spatial_internals, reference, gradcam_run, gradcam_image, agreement, mode, mute_top,
        intervene_run, before, after, intervention_text, bundle_prepare, bundle_download,
    )  # fmt: skip
