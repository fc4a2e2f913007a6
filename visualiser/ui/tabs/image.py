"""The Image tab: predictions, channel gates, spatial maps, internals, Grad-CAM, interventions, download.

One public event (``/analyse_image``) runs the network and returns what an API caller wants. Every
other view is drawn by private events from the stored result (``gr.State``), so moving a slider or
choosing a block never runs the network again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT, image_examples, image_input, image_source, png_image

STALE_AFTER_NEW_RESULT = (None, "", None, None, "")  # Grad-CAM and intervention views of the previous result

NORMALISE_CHOICES = (("norm_block", "block"), ("norm_shared", "shared"), ("norm_fixed", "fixed01"))
INTERVENTION_CHOICES = (("iv_identity", "identity"), ("iv_mute", "mute"))


@dataclass
class ImageTab:
    """Handles other parts of the UI and the tests need."""

    image: gr.Image
    model: gr.Dropdown
    run: gr.Button
    predictions: gr.Label
    overlay: gr.Image
    summary: gr.JSON
    state: gr.State


@views.png_files
def analyse_image(image: Any, model: str | None) -> tuple:
    """The public image endpoint (the event runs with ``preprocess=False``, see ``image_source``)."""
    return views.analyse_image(image_source(image), model)


def build_image_tab(i18n: gr.I18n) -> ImageTab:
    """Lay out the Image tab inside the current Blocks and wire its events."""
    state = gr.State(None, time_to_live=3600)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            image = image_input(i18n("image_input"), height=320)
            model = gr.Dropdown(
                choices=catalogue.model_choices("image"),
                value=catalogue.default_model("image"),
                label=i18n("model"),
                info=i18n("model_info"),
            )
            run = gr.Button(i18n("analyse"), variant="primary", elem_id="image-run")
        with gr.Column(scale=5, min_width=320):
            predictions = gr.Label(num_top_classes=5, label=i18n("predictions"), elem_id="image-predictions")
            timings = gr.Markdown(elem_classes=["timings"])
            with gr.Accordion(i18n("raw_result"), open=False):
                summary = gr.JSON(label=i18n("raw_result"), open=False)
    overlay = png_image(i18n("overlay"), elem_id="image-overlay", render=False)  # placed below, needed now
    examples = image_examples(embedded_first=catalogue.is_embedded(model.value))
    if examples:
        default = model.value

        def run_example(picture: Any) -> tuple:
            """Examples always use the default model, so the model column is not shown (and cached per image)."""
            return (*views.analyse_image(image_source(picture), default), default)

        gr.Examples(
            examples=[[path] for path in examples],
            inputs=[image],
            outputs=[predictions, overlay, summary, model],
            fn=guarded(views.png_files(run_example)),
            cache_examples=True,
            cache_mode="lazy",
            label=i18n("examples"),
            examples_per_page=12,
            api_visibility="private",
            preprocess=False,
        )
    gr.Markdown(i18n("channel_heading"))
    overview = png_image(i18n("channel_overview"), elem_id="image-overview")
    with gr.Accordion(i18n("barcode"), open=False):
        barcode = png_image(i18n("barcode"))
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
            overlay.render()
            grid = png_image(i18n("spatial_grid"), elem_id="image-grid")
    with gr.Accordion(i18n("internals"), open=False):
        gr.Markdown(i18n("internals_info"))
        channel_internals = gr.Plot(label=i18n("channel_internals"))
        spatial_internals = gr.Plot(label=i18n("spatial_internals"))
    with gr.Accordion(i18n("reference"), open=False):
        gr.Markdown(i18n("reference_info"))
        reference = gr.Plot(label=i18n("reference"))
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

    # --- events ---------------------------------------------------------------------------------
    run.click(
        guarded(analyse_image),
        inputs=[image, model],
        outputs=[predictions, overlay, summary],
        api_name="analyse_image",
        api_description="Analyse one image: top-5 predictions, the spatial-attention overlay of the last "
        "CBAM block (None for channel-only models) and a JSON summary with every probability and channel gate.",
        api_visibility="public",
        concurrency_id=HEAVY,
        preprocess=False,
    )

    def show_views(img: Any, name: str, s: bool, a: float, c: str, n: str) -> tuple:
        shown = views.image_views(image_source(img), name, s, a, c, n)
        return (
            shown.result,
            gr.Dropdown(choices=shown.blocks, value=shown.block),
            shown.overview,
            shown.barcode,
            shown.chart,
            shown.grid,
            shown.overlay,
            shown.channel_internals,
            shown.spatial_internals,
            shown.reference,
            gr.Group(visible=shown.has_spatial),
            shown.timings,
            gr.DownloadButton(visible=False),
            *STALE_AFTER_NEW_RESULT,
        )

    summary.change(
        guarded(views.png_files(show_views)),
        inputs=[image, model, sort, alpha, cmap, normalise],
        outputs=[
            state,
            block,
            overview,
            barcode,
            chart,
            grid,
            overlay,
            channel_internals,
            spatial_internals,
            reference,
            spatial_group,
            timings,
            bundle_download,
            gradcam_image,
            agreement,
            before,
            after,
            intervention_text,
        ],
        api_visibility="private",
        concurrency_id=LIGHT,
        preprocess=False,
    )

    block.input(
        guarded(views.png_files(views.block_views)),
        inputs=[state, block, sort, alpha, cmap, normalise],
        outputs=[chart, overlay, channel_internals, spatial_internals],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    sort.input(
        guarded(lambda result, name, s: views.block_views(result, name, s)[0]),
        inputs=[state, block, sort],
        outputs=[chart],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    for control in (alpha, cmap, normalise):
        control.input(
            guarded(views.png_files(views.overlay_view)),
            inputs=[state, block, alpha, cmap, normalise],
            outputs=[overlay, grid],
            api_visibility="private",
            concurrency_id=LIGHT,
            trigger_mode="always_last",
            show_progress="hidden",
        )
    gradcam_run.click(
        guarded(views.png_files(views.gradcam_view)),
        inputs=[state, block, alpha, cmap],
        outputs=[gradcam_image, agreement],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    intervene_run.click(
        guarded(views.intervention_view),
        inputs=[state, block, mode, mute_top],
        outputs=[before, after, intervention_text],
        api_visibility="private",
        concurrency_id=HEAVY,
    )

    def prepare_bundle(result: Any, a: float, c: str, n: str, s: bool) -> gr.DownloadButton:
        return gr.DownloadButton(value=str(views.bundle_view(result, a, c, n, s)), visible=True)

    bundle_prepare.click(
        guarded(prepare_bundle),
        inputs=[state, alpha, cmap, normalise, sort],
        outputs=[bundle_download],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    return ImageTab(image, model, run, predictions, overlay, summary, state)
