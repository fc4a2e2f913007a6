"""The Image tab's events: one public analysis, then every view from the stored result; no stale view survives.

``/analyse_image`` (public) runs the network once and returns what an API caller wants plus the result, which
goes into ``gr.State`` (the API leaves State out). The views are chained after it with ``.success`` and drawn
from that state, so the upload never travels back and the network never runs twice for one request. Before
an analysis starts, and whenever the input or the model changes, every view of the old result is cleared and
the banner says so; after a failure the banner says there is no result.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.models.defaults import SPACE_IMAGE_MODEL
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT, image_source
from visualiser.ui.tabs.flow import AnalysisFlow, clear_on_change, start
from visualiser.ui.tabs.image import ImageTab


@views.png_files
def analyse_image(
    image: Any,
    model: str | None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> tuple:
    """The public image endpoint (``preprocess=False``, see ``image_source``); a weights download shows progress."""

    def report(fraction: float, description: str) -> None:
        progress(fraction, desc=description)

    return views.analyse_image(image_source(image), model, report)


def _file_path(upload: Any) -> str | None:
    """The server path of a ``gr.File`` value (a path string, or a file-data object with ``.path``)."""
    if upload is None or isinstance(upload, str):
        return upload
    return getattr(upload, "path", None) or (upload.get("path") if isinstance(upload, dict) else None)


def wire_image_tab(tab: ImageTab, i18n: gr.I18n, banners: Banners, demo: gr.Blocks) -> None:
    """Connect the tab's components: analysis chains, redraws from the state, on-request work, arrival."""
    t = tab
    views_out = [
        t.showing, t.block, t.overview, t.barcode, t.chart, t.grid, t.overlay, t.channel_internals,
        t.spatial_internals, t.reference, t.spatial_group, t.timings, t.notice, t.switch, t.bundle_download,
        t.gradcam_image, t.agreement, t.before, t.after, t.intervention_text,
    ]  # fmt: skip
    public_out = [t.predictions, t.overlay, t.summary, t.state]
    pending_out = [t.predictions, t.summary, t.state, *views_out]

    def titled(key: str, caption: str) -> Any:
        return i18n(key) + f" · {caption}" if caption else i18n(key)

    def blank(banner: str) -> tuple:
        """No view: the banner says why; every picture, chart and side result of the old result is gone."""
        return (
            banner, gr.Dropdown(choices=[], value=None),
            gr.Image(None, label=i18n("channel_overview")), gr.Image(None, label=i18n("barcode")),
            gr.Plot(None, label=i18n("block_chart")), gr.Image(None, label=i18n("spatial_grid")),
            gr.Image(None, label=i18n("overlay")), None, None, None, gr.Group(visible=True), "",
            gr.Markdown("", visible=False), gr.Button(visible=False), gr.DownloadButton(visible=False),
            None, "", None, None, "",
        )  # fmt: skip

    def shown(v: views.ImageViews) -> tuple:
        c = v.caption
        return (
            banners.showing(c), gr.Dropdown(choices=v.blocks, value=v.block),
            gr.Image(v.overview, label=titled("channel_overview", c)), gr.Image(v.barcode, label=titled("barcode", c)),
            gr.Plot(v.chart, label=titled("block_chart", c)), gr.Image(v.grid, label=titled("spatial_grid", c)),
            gr.Image(v.overlay, label=titled("overlay", c)), v.channel_internals, v.spatial_internals, v.reference,
            gr.Group(visible=v.has_spatial), v.timings,
            gr.Markdown(v.notice, visible=bool(v.notice)), gr.Button(visible=v.offer_photo_model),
            gr.DownloadButton(visible=False), None, "", None, None, "",
        )  # fmt: skip

    def pending(model: str | None) -> tuple:
        return (None, None, None, *blank(banners.pending(model)))

    def stale(model: str | None) -> tuple:
        return (None, None, None, *blank(banners.stale(model)))

    def show_views(result: Any, s: bool, a: float, c: str, n: str) -> tuple:
        if result is None:  # nothing to show (an arrival without a result)
            return blank(banners.nothing())
        return shown(views.image_views(result, s, a, c, n))

    flow = AnalysisFlow(
        pending=pending, pending_in=[t.model], pending_out=pending_out,
        analyse=analyse_image, analyse_in=[t.image, t.model], analyse_out=public_out,
        show=views.png_files(show_views), show_in=[t.state, t.sort, t.alpha, t.cmap, t.normalise],
        show_out=views_out, banner=t.showing, failed_text=banners.failed(), api_name="analyse_image",
        api_description="Analyse one image: top-5 predictions, the spatial-attention overlay of the last "
        "CBAM block (None for channel-only models) and a JSON summary with every probability and channel gate.",
        preprocess=False,
    )  # fmt: skip
    flow.chain(start(t.run), public=True)
    if t.examples is not None:
        flow.chain(t.examples.load_input_event, public=False)

    def to_photo_model() -> tuple:
        return SPACE_IMAGE_MODEL, banners.domain(SPACE_IMAGE_MODEL)

    switched = t.switch.click(to_photo_model, outputs=[t.model, t.domain], queue=False, api_visibility="private")
    flow.chain(switched, public=False)

    def load_checkpoint(checkpoint: Any, labels: Any, arch: str | None) -> tuple:
        """Register the upload, select it in the model list; the chain then analyses the image with it."""
        loaded = views.load_checkpoint(_file_path(checkpoint), _file_path(labels), arch)
        choices = gr.Dropdown(choices=catalogue.model_choices("image"), value=loaded.name)
        return choices, banners.domain(loaded.name), loaded.details

    registered = t.load_checkpoint.click(
        guarded(load_checkpoint),
        inputs=[t.checkpoint, t.labels_file, t.arch],
        outputs=[t.model, t.domain, t.checkpoint_info],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    flow.chain(registered, public=False, only_after_success=True)
    clear_on_change([t.image, t.model], flow, stale)
    t.model.change(banners.domain, inputs=[t.model], outputs=[t.domain], queue=False, api_visibility="private")

    def arrive() -> tuple:
        path, model, *public = views.image_arrival(t.model.value)
        return (path, model, banners.domain(model), *public)

    arrival = demo.load(
        guarded(views.png_files(arrive)),
        outputs=[t.image, t.model, t.domain, *public_out],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    flow.draw(arrival.success)
    _wire_redraws(t)


def _wire_redraws(t: ImageTab) -> None:
    """Events that redraw from the stored result (no network) or run the extra work a button asks for."""
    t.block.input(
        guarded(views.png_files(views.block_views)),
        inputs=[t.state, t.block, t.sort, t.alpha, t.cmap, t.normalise],
        outputs=[t.chart, t.overlay, t.channel_internals, t.spatial_internals],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    t.sort.input(
        guarded(lambda result, name, s: views.block_views(result, name, s)[0]),
        inputs=[t.state, t.block, t.sort],
        outputs=[t.chart],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    for control in (t.alpha, t.cmap, t.normalise):
        control.input(
            guarded(views.png_files(views.overlay_view)),
            inputs=[t.state, t.block, t.alpha, t.cmap, t.normalise],
            outputs=[t.overlay, t.grid],
            api_visibility="private",
            concurrency_id=LIGHT,
            trigger_mode="always_last",
            show_progress="hidden",
        )
    t.gradcam_run.click(
        guarded(views.png_files(views.gradcam_view)),
        inputs=[t.state, t.block, t.alpha, t.cmap],
        outputs=[t.gradcam_image, t.agreement],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    t.intervene_run.click(
        guarded(views.intervention_view),
        inputs=[t.state, t.block, t.mode, t.mute_top],
        outputs=[t.before, t.after, t.intervention_text],
        api_visibility="private",
        concurrency_id=HEAVY,
    )

    def prepare_bundle(result: Any, a: float, c: str, n: str, s: bool) -> gr.DownloadButton:
        return gr.DownloadButton(value=str(views.bundle_view(result, a, c, n, s)), visible=True)

    t.bundle_prepare.click(
        guarded(prepare_bundle),
        inputs=[t.state, t.alpha, t.cmap, t.normalise, t.sort],
        outputs=[t.bundle_download],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
