"""The Image tab's events: one public analysis, then every view from the stored result; no stale view survives.

``/analyse_image`` (public) runs the network once and returns what an API caller wants plus the result, which
goes into ``gr.State`` (the API leaves State out). The views are chained after it with ``.success`` and drawn
from that state, so the upload never travels back and the network never runs twice for one request. Before
an analysis starts, and whenever the input or the model changes, every view of the old result is cleared and
the banner says so; after a failure the banner says why (``flow``).

Each view has one function that returns its ``{component: update}`` mapping (``overview_updates``,
``spatial_updates``, ...); ``shown`` merges them for a whole result, ``blank`` hides every section. A view
this model cannot fill is hidden and its note says why, so no control keeps a value its new choices refuse.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import failure_message, guarded, safely
from visualiser.ui.components import HEAVY, LIGHT, figure_or_note, image_source, note, picture
from visualiser.ui.tabs.flow import AnalysisFlow, Chain, TabHooks, Updates, clear_on_change, start
from visualiser.ui.tabs.image import MUTE_DEFAULT, ImageTab

SCOPE = "image"
API_DESCRIPTION = (
    "Analyse one image: top-5 predictions, the spatial-attention overlay of the last CBAM block (None for "
    "channel-only models) and a JSON summary with every probability and channel gate."
)


def _file_path(upload: Any) -> str | None:
    """The server path of a ``gr.File`` value (a path string, or a file-data object with ``.path``)."""
    if upload is None or isinstance(upload, str):
        return upload
    return getattr(upload, "path", None) or (upload.get("path") if isinstance(upload, dict) else None)


class ImageViewUpdates:
    """The tab's views as ``{component: update}`` mappings, one method per view."""

    def __init__(self, tab: ImageTab, banners: Banners) -> None:
        self.t = tab
        self.banners = banners

    def outputs(self) -> list[Any]:
        """Every component a pending, shown or failed step may update."""
        t = self.t
        return [
            t.predictions, t.overlay, t.summary, t.state, t.showing, t.notice, t.switch, t.timings,
            t.channel_section, t.spatial_section, t.more_section, t.channel_note, t.channel_group, t.overview,
            t.barcode, t.barcode_note, t.block, t.chart, t.chart_note, t.spatial_note, t.spatial_group, t.grid,
            t.channel_internals, t.channel_internals_note, t.spatial_internals, t.spatial_internals_note,
            t.reference, t.reference_note, t.gradcam_image, t.agreement, t.intervention_note,
            t.intervention_group, t.mute_top, t.before, t.after, t.intervention_text, t.bundle_download,
            t.bundle_note,
        ]  # fmt: skip

    # ---- no result ---------------------------------------------------------------------------------------------

    def blank(self, banner: str) -> Updates:
        """No result on screen: every section hidden (nothing empty is left visible), the banner says why."""
        t = self.t
        return {
            t.showing: banner, t.predictions: gr.update(value=None, visible=False), t.overlay: None,
            t.summary: None, t.state: None, t.notice: gr.update(value="", visible=False),
            t.switch: gr.update(visible=False), t.timings: "", t.channel_section: gr.update(visible=False),
            t.spatial_section: gr.update(visible=False), t.more_section: gr.update(visible=False),
            t.block: gr.update(choices=[], value=None), t.gradcam_image: gr.update(value=None, visible=False),
            t.agreement: "", t.before: None, t.after: None, t.intervention_text: "",
            t.bundle_download: gr.update(visible=False), t.bundle_note: gr.update(value="", visible=False),
        }  # fmt: skip

    # ---- one method per view -----------------------------------------------------------------------------------

    def header_updates(self, v: views.ImageViews, lang: str) -> Updates:
        """Banner, predictions shown again, notice and the photo-model switch, timings."""
        t = self.t
        return {
            t.showing: self.banners.showing(v.caption, lang),
            t.predictions: gr.update(visible=True),
            **note(t.notice, v.notice.text),
            t.switch: gr.update(visible=v.notice.switch_to is not None),
            t.timings: v.timings,
        }

    def channel_updates(self, v: views.ImageViews) -> Updates:
        """The channel section: overview, barcode, block list and chart, or the sentence why there are none."""
        t = self.t
        drawn = v.overview.drawn
        return {
            t.channel_section: gr.update(visible=True),
            t.channel_group: gr.update(visible=drawn),
            **note(t.channel_note, "" if drawn else v.overview.note),
            **picture(t.overview, v.overview),
            **picture(t.barcode, v.barcode),
            **note(t.barcode_note, v.barcode.note),
            t.block: gr.update(choices=v.blocks, value=v.block),
            **self.chart_updates(v.chart),
        }

    def chart_updates(self, chart: views.Shown) -> Updates:
        return figure_or_note(self.t.chart, self.t.chart_note, chart)

    def spatial_updates(self, overlay: views.Shown, grid: views.Shown) -> Updates:
        """The spatial section: the selected block's overlay and every block's map, or why there are none."""
        t = self.t
        drawn = grid.drawn
        return {
            t.spatial_section: gr.update(visible=True),
            t.spatial_group: gr.update(visible=drawn),
            **note(t.spatial_note, "" if drawn else grid.note),
            **picture(t.overlay, overlay),
            **picture(t.grid, grid),
        }

    def internals_updates(self, channel: views.Shown, spatial: views.Shown) -> Updates:
        t = self.t
        return {
            **figure_or_note(t.channel_internals, t.channel_internals_note, channel),
            **figure_or_note(t.spatial_internals, t.spatial_internals_note, spatial),
        }

    def reference_updates(self, reference: views.Shown) -> Updates:
        return figure_or_note(self.t.reference, self.t.reference_note, reference)

    def on_request_updates(self, v: views.ImageViews, lang: str) -> Updates:
        """Grad-CAM, interventions and the bundle wait for their buttons: cleared, bounded by this result."""
        t = self.t
        limit = v.mute_limit
        intervention_note = "" if limit else views.say(lang, "no_intervention", model=v.result.model_title)
        return {
            t.more_section: gr.update(visible=True),
            t.gradcam_image: gr.update(value=None, visible=False),
            t.agreement: views.say(lang, "gradcam_ready"),
            t.intervention_group: gr.update(visible=limit > 0),
            **note(t.intervention_note, intervention_note),
            **self.mute_updates(limit, lang),
            t.before: None,
            t.after: None,
            t.intervention_text: "",
            t.bundle_download: gr.update(visible=False),
            t.bundle_note: gr.update(value="", visible=False),
        }

    def mute_updates(self, channels: int, lang: str) -> Updates:
        """Channels to mute: 1 up to the selected block's channel count (a slider needs two values: 1 and 2 for a
        one-channel block, where the view refuses 2; a model without blocks hides the slider)."""
        most = max(1, channels)
        info = views.say(lang, "mute_info", channels=most)
        slider = gr.update(minimum=1, maximum=max(2, most), value=min(MUTE_DEFAULT, most), info=info)
        return {self.t.mute_top: slider}

    def shown(self, v: views.ImageViews, lang: str) -> Updates:
        """Every view of one result."""
        return {
            **self.header_updates(v, lang),
            **self.channel_updates(v),
            **self.spatial_updates(v.overlay, v.grid),
            **self.internals_updates(v.channel_internals, v.spatial_internals),
            **self.reference_updates(v.reference),
            **self.on_request_updates(v, lang),
        }

    def model_updates(self, model: str | None, lang: str) -> Updates:
        """The model list in the reader's language (whether each model's weights are here) and its domain."""
        choices = catalogue.model_choices("image", lang)
        names = {name for _, name in choices}
        value = model if model in names else catalogue.default_model("image")
        return {self.t.model: gr.update(choices=choices, value=value), self.t.domain: self.banners.domain(value, lang)}


def wire_image_tab(tab: ImageTab, i18n: gr.I18n, banners: Banners, demo: gr.Blocks, language: gr.Radio) -> TabHooks:
    """Connect the tab's components: analysis chains, redraws from the state, on-request work.

    Returns the tab's arrival and its redraw in a new language, which the shell attaches to the page's events.
    """
    t = tab
    u = ImageViewUpdates(t, banners)
    outputs = u.outputs()
    options = [t.sort, t.alpha, t.cmap, t.normalise, t.block]

    @views.png_files
    def analyse_image(image: Any, model: str | None, progress: gr.Progress = gr.Progress()) -> Updates:  # noqa: B008
        """The public image endpoint (``preprocess=False``, see ``image_source``); a weights download shows progress."""

        def report(fraction: float, description: str) -> None:
            progress(fraction, desc=description)

        label_, overlay, summary, result = views.analyse_image(image_source(image), model, report)
        return {t.predictions: label_, t.overlay: overlay, t.summary: summary, t.state: result}

    def pending(model: str | None, lang: str) -> Updates:
        return u.blank(banners.pending(model, lang))

    def stale(model: str | None, lang: str) -> Updates:
        return u.blank(banners.stale(model, lang))

    def show(result: Any, s: bool, a: float, c: str, n: str, block: str | None, lang: str) -> Updates:
        if result is None:  # nothing to show (an arrival without a result)
            return u.blank(banners.nothing(lang))
        return u.shown(views.image_views(result, s, a, c, n, lang, block), lang)

    def failed(model: str | None, lang: str, request: gr.Request) -> Updates:
        message = failure_message(request, SCOPE, lang)
        return {**u.blank(banners.failed(message, lang)), **u.model_updates(model, lang)}

    flow = AnalysisFlow(
        scope=SCOPE, pending=pending, pending_in=[t.model, language],
        analyse=analyse_image, analyse_in=[t.image, t.model],
        analyse_out=[t.predictions, t.overlay, t.summary, t.state],
        show=show, show_in=[t.state, *options, language], failed=failed, failed_in=[t.model, language],
        outputs=outputs, failed_out=[*outputs, t.model, t.domain], api_name="analyse_image",
        api_description=API_DESCRIPTION, preprocess=False,
    )  # fmt: skip
    flow.chain(start(t.run), public=True)
    if t.examples is not None:
        flow.chain(t.examples.load_input_event, public=False)

    def to_photo_model(lang: str) -> Updates:
        photo = catalogue.photo_model()
        if photo is None:
            raise gr.Error(views.say(lang, "switch_needs", model="seresnet50.a1_in1k"))
        return u.model_updates(photo, lang)

    switched = t.switch.click(
        guarded(to_photo_model), inputs=[language], outputs=[t.model, t.domain], queue=False, api_visibility="private"
    )
    flow.chain(switched, public=False, only_after_success=True)

    def load_checkpoint(checkpoint: Any, labels: Any, arch: str | None, lang: str) -> Updates:
        """Register the upload, select it in the model list; the chain then analyses the image with it."""
        loaded = views.load_checkpoint(_file_path(checkpoint), _file_path(labels), arch, lang)
        return {**u.model_updates(loaded.name, lang), t.checkpoint_info: loaded.details}

    registered = t.load_checkpoint.click(
        guarded(load_checkpoint),
        inputs=[t.checkpoint, t.labels_file, t.arch, language],
        outputs=[t.model, t.domain, t.checkpoint_info],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    flow.chain(registered, public=False, only_after_success=True)
    clear_on_change([t.image, t.model], flow, stale)
    t.model.change(
        lambda model, lang: banners.domain(model, lang), inputs=[t.model, language], outputs=[t.domain],
        queue=False, api_visibility="private", show_progress="hidden",
    )  # fmt: skip
    _wire_redraws(t, u, language)

    def relabel(
        result: Any, s: bool, a: float, c: str, n: str, block: str | None, model: str | None, lang: str
    ) -> Updates:
        """The language changed: the model list and every view, redrawn from the state."""
        return {**u.model_updates(model, lang), **show(result, s, a, c, n, block, lang)}

    def on_language(after: Chain) -> None:
        after(
            guarded(relabel),
            inputs=[t.state, *options, t.model, language],
            outputs=[*outputs, t.model, t.domain],
            api_visibility="private",
            concurrency_id=LIGHT,
        )

    @views.png_files
    def arrive(lang: str) -> Updates:
        path, model, label_, overlay, summary, result = views.image_arrival(t.model.value)
        return {
            t.image: path, **u.model_updates(model, lang), t.predictions: label_, t.overlay: overlay,
            t.summary: summary, t.state: result,
        }  # fmt: skip

    def arrival(after: Chain) -> None:
        """Chain the tab's arrival example (and its views) after ``after`` (the language detection)."""
        done = after(
            guarded(arrive),
            inputs=[language],
            outputs=[t.image, t.model, t.domain, t.predictions, t.overlay, t.summary, t.state],
            api_visibility="private",
            concurrency_id=LIGHT,
        )
        flow.draw(done.success)

    return TabHooks(arrival, on_language)


def _wire_redraws(t: ImageTab, u: ImageViewUpdates, language: gr.Radio) -> None:
    """Events that redraw from the stored result (no network) or run the extra work a button asks for.

    Before any result they change nothing; their own failures are shown in their own area, never as a toast.
    """

    def on_block(result: Any, block: str | None, s: bool, a: float, c: str, n: str, lang: str) -> Updates:
        if result is None or block is None:
            return {}
        chart, overlay, channel_side, spatial_side = views.block_views(result, block, s, a, c, n, lang)
        return {
            **u.chart_updates(chart),
            **picture(t.overlay, overlay),
            **u.internals_updates(channel_side, spatial_side),
            **u.mute_updates(views.mute_limit(result, block), lang),
        }

    def chart_failed(message: views.UserMessage) -> Updates:
        return note(t.chart_note, message.short)

    t.block.input(
        safely(on_block, chart_failed),
        inputs=[t.state, t.block, t.sort, t.alpha, t.cmap, t.normalise, language],
        outputs=[t.chart, t.chart_note, t.overlay, t.channel_internals, t.channel_internals_note,
                 t.spatial_internals, t.spatial_internals_note, t.mute_top],
        api_visibility="private",
        concurrency_id=LIGHT,
    )  # fmt: skip

    def on_sort(result: Any, block: str | None, s: bool, lang: str) -> Updates:
        if result is None:
            return {}
        return u.chart_updates(views.chart_view(result, block, s, lang))

    t.sort.input(
        safely(on_sort, chart_failed),
        inputs=[t.state, t.block, t.sort, language],
        outputs=[t.chart, t.chart_note],
        api_visibility="private",
        concurrency_id=LIGHT,
    )

    def on_colours(result: Any, block: str | None, a: float, c: str, n: str, lang: str) -> Updates:
        if result is None or not result.spatial_blocks:
            return {}
        overlay, grid = views.overlay_view(result, block, a, c, n, lang)
        return {**picture(t.overlay, overlay), **picture(t.grid, grid)}

    def colours_failed(message: views.UserMessage) -> Updates:
        return note(t.spatial_note, message.short)

    for control in (t.alpha, t.cmap, t.normalise):
        control.input(
            safely(on_colours, colours_failed),
            inputs=[t.state, t.block, t.alpha, t.cmap, t.normalise, language],
            outputs=[t.overlay, t.grid, t.spatial_note],
            api_visibility="private",
            concurrency_id=LIGHT,
            trigger_mode="always_last",
            show_progress="hidden",
        )

    def on_gradcam(result: Any, block: str | None, a: float, c: str, lang: str) -> Updates:
        if result is None:
            return {t.agreement: views.say(lang, "error_first")}
        picture_, text = views.gradcam_view(result, block, a, c, lang)
        return {**picture(t.gradcam_image, views.Shown(picture_)), t.agreement: text}

    def gradcam_failed(message: views.UserMessage) -> Updates:
        return {t.gradcam_image: gr.update(value=None, visible=False), t.agreement: message.short}

    t.gradcam_run.click(
        safely(on_gradcam, gradcam_failed),
        inputs=[t.state, t.block, t.alpha, t.cmap, language],
        outputs=[t.gradcam_image, t.agreement],
        api_visibility="private",
        concurrency_id=HEAVY,
    )

    def on_intervene(result: Any, block: str | None, mode: str, k: int, lang: str) -> Updates:
        if result is None:
            return {t.intervention_text: views.say(lang, "error_first")}
        before, after, text = views.intervention_view(result, block, mode, k, lang)
        return {t.before: before, t.after: after, t.intervention_text: text}

    def intervene_failed(message: views.UserMessage) -> Updates:
        return {t.before: None, t.after: None, t.intervention_text: message.short}

    t.intervene_run.click(
        safely(on_intervene, intervene_failed),
        inputs=[t.state, t.block, t.mode, t.mute_top, language],
        outputs=[t.before, t.after, t.intervention_text],
        api_visibility="private",
        concurrency_id=HEAVY,
    )

    def prepare_bundle(result: Any, a: float, c: str, n: str, s: bool, lang: str) -> Updates:
        if result is None:
            return note(t.bundle_note, views.say(lang, "error_first"))
        path = views.bundle_view(result, a, c, n, s)
        return {t.bundle_download: gr.update(value=str(path), visible=True), **note(t.bundle_note, "")}

    def bundle_failed(message: views.UserMessage) -> Updates:
        return {t.bundle_download: gr.update(visible=False), **note(t.bundle_note, message.short)}

    t.bundle_prepare.click(
        safely(prepare_bundle, bundle_failed),
        inputs=[t.state, t.alpha, t.cmap, t.normalise, t.sort, language],
        outputs=[t.bundle_download, t.bundle_note],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
