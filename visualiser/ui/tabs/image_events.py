"""The Image tab's events: a click answers in one server round trip; no stale view survives.

A click on Analyse (or an example, the photo-model switch, a loaded checkpoint) marks the tab pending in the
browser (``flow.pending_js``: the old views hidden, the banner says what is being analysed) and runs one
event, ``analyse_and_draw``: one forward pass and every view on screen, in one answer. ``/analyse_image``
(public) runs the same analysis with the API's fixed outputs (top-5, overlay, summary; the result goes into
``gr.State``, which the API leaves out) and no page event triggers it (``flow.OneTrip.publish``). A failure
is said in the banner and leaves no old view. Views in a closed fold (barcode, internals, class reference)
are drawn when the fold opens; the page's open folds are kept in ``t.folds``. A display option redraws only
the views it changes, from the stored result.

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
from visualiser.ui.tabs.flow import Chain, OneTrip, TabHooks, Updates
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


def _owner(request: gr.Request | None) -> str | None:
    """Who uploaded networks belong to: the caller's session (a page, or a gradio_client)."""
    return getattr(request, "session_hash", None)


def _forget_uploads(request: gr.Request) -> None:
    """The page was closed: its uploaded networks leave memory."""
    views.forget_uploads(_owner(request))


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

    def fold_updates(self, fold: str, shown: tuple[views.Shown, ...]) -> Updates:
        """One fold's views (``views.fold_views``) as they are drawn when it opens."""
        t = self.t
        if fold == "barcode":
            return {**picture(t.barcode, shown[0]), **note(t.barcode_note, shown[0].note)}
        if fold == "internals":
            return self.internals_updates(*shown)
        return self.reference_updates(shown[0])

    def result_updates(self, result: Any, v: views.ImageViews, lang: str) -> Updates:
        """A new result: its predictions, summary and state, and every view."""
        t = self.t
        label_ = views.predictions_label(result.predictions)
        return {
            **self.shown(v, lang),
            t.predictions: gr.update(value=label_, visible=True),
            t.summary: views.result_summary(result),
            t.state: result,
        }

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

    def model_updates(self, model: str | None, lang: str, owner: str | None = None) -> Updates:
        """The model list in the reader's language (whether each model's weights are here) and its domain;
        ``owner``'s uploads among them (the caller's session), no one else's."""
        choices = catalogue.model_choices("image", lang, owner)
        names = {name for _, name in choices}
        value = model if model in names else catalogue.default_model("image")
        return {self.t.model: gr.update(choices=choices, value=value), self.t.domain: self.banners.domain(value, lang)}


def wire_image_tab(tab: ImageTab, i18n: gr.I18n, banners: Banners, demo: gr.Blocks, language: gr.Radio) -> TabHooks:
    """Connect the tab's components: the click (one round trip), the API, the folds, redraws, on-request work.

    Returns the tab's arrival and its redraw in a new language, which the shell attaches to the page's events.
    """
    t = tab
    u = ImageViewUpdates(t, banners)
    outputs = u.outputs()
    options = [t.sort, t.alpha, t.cmap, t.normalise]

    @views.png_files
    def analyse_image(
        image: Any,
        model: str | None,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Updates:
        """The public image endpoint (``preprocess=False``, see ``image_source``); a weights download shows progress.

        The caller's session (``request``) owns the networks it uploaded: it may run them, no one else may.
        """

        def report(fraction: float, description: str) -> None:
            progress(fraction, desc=description)

        owner = _owner(request)
        label_, overlay, summary, result = views.analyse_image(image_source(image), model, report, owner=owner)
        return {t.predictions: label_, t.overlay: overlay, t.summary: summary, t.state: result}

    def analyse_and_draw(
        image: Any,
        model: str | None,
        s: bool,
        a: float,
        c: str,
        n: str,
        folds: frozenset[str] | None,
        lang: str,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Updates:
        """The Analyse button: one forward pass and every view on screen, in one answer (open folds only)."""

        def report(fraction: float, description: str) -> None:
            progress(fraction, desc=description)

        result = views.analysed_image(image_source(image), model, report, owner=_owner(request))
        return u.result_updates(result, views.image_views(result, s, a, c, n, lang, folds=folds or ()), lang)

    def show(
        result: Any, s: bool, a: float, c: str, n: str, block: str | None, folds: frozenset[str] | None, lang: str
    ) -> Updates:
        if result is None:  # nothing to show (an arrival without a result)
            return u.blank(banners.nothing(lang))
        return u.shown(views.image_views(result, s, a, c, n, lang, block, folds=folds or ()), lang)

    def stale(model: str | None, lang: str) -> Updates:
        return u.blank(banners.stale(model, lang))

    def failed(model: str | None, lang: str, request: gr.Request | None = None) -> Updates:
        message = failure_message(request, SCOPE, lang)
        return {**u.blank(banners.failed(message, lang)), **u.model_updates(model, lang, _owner(request))}

    flow = OneTrip(
        scope=SCOPE, tab="tab-image", banner="image-showing", model="image-model",
        run=analyse_and_draw, run_in=[t.image, t.model, *options, t.folds, language], outputs=outputs,
        failed=failed, failed_in=[t.model, language], failed_out=[*outputs, t.model, t.domain],
        api=analyse_image, api_in=[t.image, t.model], api_out=[t.predictions, t.overlay, t.summary, t.state],
        api_name="analyse_image", api_description=API_DESCRIPTION, preprocess=False,
    )  # fmt: skip
    flow.publish()
    flow.on(t.run.click)
    if t.examples is not None:
        flow.on(t.examples.load_input_event.then)

    def to_photo_model(lang: str, request: gr.Request | None = None) -> Updates:
        photo = catalogue.photo_model()
        if photo is None:
            raise gr.Error(views.say(lang, "switch_needs", model="seresnet50.a1_in1k"))
        return u.model_updates(photo, lang, _owner(request))

    switched = t.switch.click(
        guarded(to_photo_model), inputs=[language], outputs=[t.model, t.domain], queue=False, api_visibility="private"
    )
    flow.on(switched.success)

    def load_checkpoint(
        checkpoint: Any, labels: Any, arch: str | None, lang: str, request: gr.Request | None = None
    ) -> Updates:
        """Register the upload for this session, select it in its model list; the chain then analyses with it."""
        owner = _owner(request)
        loaded = views.load_checkpoint(_file_path(checkpoint), _file_path(labels), arch, lang, owner=owner)
        return {**u.model_updates(loaded.name, lang, owner), t.checkpoint_info: loaded.details}

    registered = t.load_checkpoint.click(
        guarded(load_checkpoint),
        inputs=[t.checkpoint, t.labels_file, t.arch, language],
        outputs=[t.model, t.domain, t.checkpoint_info],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    flow.on(registered.success)
    demo.unload(_forget_uploads)  # a closed page's networks leave memory
    for control in (t.image, t.model):  # the user changed the input or the model: the old result's views go
        control.input(
            guarded(stale), inputs=[t.model, language], outputs=outputs, queue=False, show_progress="hidden",
            api_visibility="private",
        )  # fmt: skip
    t.model.change(
        lambda model, lang: banners.domain(model, lang), inputs=[t.model, language], outputs=[t.domain],
        queue=False, api_visibility="private", show_progress="hidden",
    )  # fmt: skip
    _wire_folds(t, u, language)
    _wire_redraws(t, u, language)

    def relabel(
        result: Any,
        s: bool,
        a: float,
        c: str,
        n: str,
        block: str | None,
        folds: frozenset[str] | None,
        model: str | None,
        lang: str,
        request: gr.Request | None = None,
    ) -> Updates:
        """The language changed: the model list (the session's own) and every view, redrawn from the state."""
        return {**u.model_updates(model, lang, _owner(request)), **show(result, s, a, c, n, block, folds, lang)}

    def on_language(after: Chain) -> None:
        after(
            guarded(relabel),
            inputs=[t.state, *options, t.block, t.folds, t.model, language],
            outputs=[*outputs, t.model, t.domain],
            api_visibility="private",
            concurrency_id=LIGHT,
        )

    def arrive(s: bool, a: float, c: str, n: str, lang: str, request: gr.Request | None = None) -> Updates:
        """The tab's first example through the tab's model, every view drawn, in one answer."""
        path, model, label_, _, summary, result = views.image_arrival(t.model.value)
        drawn = show(result, s, a, c, n, None, frozenset(), lang)
        return {
            **drawn, t.image: path, **u.model_updates(model, lang, _owner(request)),
            t.predictions: gr.update(value=label_, visible=result is not None), t.summary: summary, t.state: result,
        }  # fmt: skip

    def arrival(after: Chain) -> None:
        """Chain the tab's arrival example (and its views) after ``after`` (the language detection)."""
        after(
            guarded(arrive),
            inputs=[*options, language],
            outputs=[*outputs, t.image, t.model, t.domain],
            api_visibility="private",
            concurrency_id=LIGHT,
        )

    return TabHooks(arrival, on_language)


def _wire_folds(t: ImageTab, u: ImageViewUpdates, language: gr.Radio) -> None:
    """A fold's views are drawn when it opens (from the stored result); the page's open folds are remembered,
    so the next analysis draws the open ones with the rest and leaves the closed ones for later."""
    for fold, accordion, figures in (
        ("barcode", t.barcode_fold, [t.barcode, t.barcode_note]),
        ("internals", t.internals_fold, [t.channel_internals, t.channel_internals_note, t.spatial_internals,
                                         t.spatial_internals_note]),
        ("reference", t.reference_fold, [t.reference, t.reference_note]),
    ):  # fmt: skip

        def opened(
            folds: frozenset[str] | None, result: Any, block: str | None, lang: str, fold: str = fold
        ) -> Updates:
            folds = frozenset(folds or ()) | {fold}
            if result is None:
                return {t.folds: folds}
            return {t.folds: folds, **u.fold_updates(fold, views.fold_views(result, fold, block, lang))}

        def closed(folds: frozenset[str] | None, fold: str = fold) -> frozenset[str]:
            return frozenset(folds or ()) - {fold}

        def fold_failed(message: views.UserMessage, figures: list = figures) -> Updates:
            return note(figures[-1], message.short)

        accordion.expand(
            safely(opened, fold_failed), inputs=[t.folds, t.state, t.block, language], outputs=[t.folds, *figures],
            api_visibility="private", concurrency_id=LIGHT,
        )  # fmt: skip
        accordion.collapse(closed, inputs=[t.folds], outputs=[t.folds], queue=False, api_visibility="private")


def _wire_redraws(t: ImageTab, u: ImageViewUpdates, language: gr.Radio) -> None:
    """Events that redraw from the stored result (no network) or run the extra work a button asks for.

    Before any result they change nothing; their own failures are shown in their own area, never as a toast.
    """

    def on_block(
        result: Any, block: str | None, s: bool, a: float, c: str, n: str, folds: frozenset[str] | None, lang: str
    ) -> Updates:
        if result is None or block is None:
            return {}
        chart, overlay, channel_side, spatial_side = views.block_views(result, block, s, a, c, n, lang, folds or ())
        return {
            **u.chart_updates(chart),
            **picture(t.overlay, overlay),
            **u.internals_updates(channel_side, spatial_side),
            **u.mute_updates(views.mute_limit(result, block), lang),
        }

    def chart_failed(message: views.UserMessage) -> Updates:
        return note(t.chart_note, message.short)

    t.block.select(  # a pick (mouse or keyboard); the dropdown's input event fires twice for one pick
        safely(on_block, chart_failed),
        inputs=[t.state, t.block, t.sort, t.alpha, t.cmap, t.normalise, t.folds, language],
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
