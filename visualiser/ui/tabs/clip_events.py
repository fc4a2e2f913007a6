"""The Clip tab's events: a click answers in one server round trip (with progress); no stale view survives.

Same shape as the Image tab (``flow.OneTrip``): the browser hides the old views when Analyse is pressed, one
event runs the frames' forward passes and returns the attention video and every view; ``/analyse_clip``
(public) runs the same analysis with the API's outputs. The old views are cleared whenever the clip, the model
or the frame count changes; a failure is said in the banner. The frame-count
slider is bounded by the model: a 3-D model's own frame count (fixed, and the slider says so), or 2 to 32
frames for an image model run frame by frame. The switch for a real clip leads to a model with attention.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import failure_message, guarded, safely
from visualiser.ui.components import HEAVY, LIGHT, figure_or_note, note, picture
from visualiser.ui.tabs.clip import ClipTab
from visualiser.ui.tabs.flow import Chain, OneTrip, TabHooks, Updates

SCOPE = "clip"
API_DESCRIPTION = (
    "Analyse a clip: sample frames evenly, run the model (3-D models see the whole clip, image models each "
    "frame), and return the clip-level top-5, an MP4 of the attention over the frames and a JSON summary."
)


def analyse_clip_event(
    video: str | None,
    model: str | None,
    frames: int,
    request: gr.Request | None = None,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> tuple:
    """The public clip endpoint: progress goes to the browser's progress bar; the session's own uploads only."""

    def report(fraction: float, description: str) -> None:
        progress(fraction, desc=description)

    return views.analyse_clip(video, model, int(frames), report, owner=_owner(request))


def _owner(request: gr.Request | None) -> str | None:
    return getattr(request, "session_hash", None)


class ClipViewUpdates:
    """The tab's views as ``{component: update}`` mappings, one method per view."""

    def __init__(self, tab: ClipTab, banners: Banners) -> None:
        self.t = tab
        self.banners = banners

    def outputs(self) -> list[Any]:
        t = self.t
        return [
            t.predictions, t.attention_video, t.summary, t.state, t.showing, t.notice, t.switch, t.video_note,
            t.timings, t.views_section, t.attention_note, t.block, t.frame, t.frame_image, t.frame_chart,
            t.frame_chart_note, t.timeline, t.timeline_note, t.stability, t.stability_note, t.bundle_download,
            t.bundle_note,
        ]  # fmt: skip

    def blank(self, banner: str) -> Updates:
        t = self.t
        return {
            t.showing: banner, t.predictions: gr.update(value=None, visible=False),
            t.attention_video: gr.update(value=None, visible=False), t.summary: None, t.state: None,
            t.notice: gr.update(value="", visible=False), t.switch: gr.update(visible=False),
            **note(t.video_note, ""), t.timings: "", t.views_section: gr.update(visible=False),
            t.block: gr.update(choices=[], value=None), t.bundle_download: gr.update(visible=False),
            **note(t.bundle_note, ""),
        }  # fmt: skip

    def header_updates(self, v: views.ClipViews, video: views.Shown, lang: str) -> Updates:
        t = self.t
        return {
            t.showing: self.banners.showing(v.caption, lang),
            t.predictions: gr.update(visible=True),
            **note(t.notice, v.notice.text),
            t.switch: gr.update(visible=v.notice.switch_to is not None),
            **picture(t.attention_video, video),
            **note(t.video_note, video.note),
            t.timings: v.timings,
        }

    def frame_updates(self, image: views.Shown, chart: views.Shown) -> Updates:
        t = self.t
        return {**picture(t.frame_image, image), **figure_or_note(t.frame_chart, t.frame_chart_note, chart)}

    def time_updates(self, over_time: views.Shown) -> Updates:
        return figure_or_note(self.t.timeline, self.t.timeline_note, over_time)

    def views_updates(self, v: views.ClipViews, lang: str) -> Updates:
        t = self.t
        attention = bool(v.blocks)
        no_attention = "" if attention else views.say(lang, "no_clip_attention", model=v.result.model_title)
        return {
            t.views_section: gr.update(visible=True),
            **note(t.attention_note, no_attention),
            t.block: gr.update(choices=v.blocks, value=v.block, visible=attention),
            t.frame: gr.update(
                minimum=1,
                maximum=max(2, v.frames),
                value=1,
                step=1,
                interactive=v.frames > 1,
                info=views.say(lang, "frame_info", frames=v.frames),
            ),
            **self.frame_updates(v.frame_image, v.frame_chart),
            **self.time_updates(v.over_time),
            **figure_or_note(t.stability, t.stability_note, v.stability),
            t.bundle_download: gr.update(visible=False),
            **note(t.bundle_note, ""),
        }

    def result_updates(
        self, result: Any, v: views.ClipViews, video: views.Shown | Future[views.Shown], lang: str
    ) -> Updates:
        """A new result: its predictions, summary and state, the attention video and every view. A video still being
        encoded (``views.video_view_soon``) is waited for after the figures are drawn and written."""
        t = self.t
        label_ = views.predictions_label(result.predictions)
        drawn = self.views_updates(v, lang)
        return {
            **self.header_updates(v, video.result() if isinstance(video, Future) else video, lang),
            **drawn,
            t.predictions: gr.update(value=label_, visible=True),
            t.summary: views.clip_summary(result),
            t.state: result,
        }

    def model_updates(self, model: str | None, frames: int, lang: str, owner: str | None = None) -> Updates:
        """The model list in the reader's language (``owner``'s uploads among them), the model's domain and the
        frame slider it allows."""
        choices = catalogue.clip_model_choices(lang, owner)
        names = {name for _, name in choices}
        value = model if model in names else catalogue.default_model("clip")
        control = views.frames_control(value, frames, lang)
        return {
            self.t.model: gr.update(choices=choices, value=value),
            self.t.domain: self.banners.domain(value, lang),
            self.t.frames: gr.update(
                minimum=control.minimum,
                maximum=control.maximum,
                value=control.value,
                interactive=control.interactive,
                info=control.info,
            ),
        }


def wire_clip_tab(tab: ClipTab, i18n: gr.I18n, banners: Banners, demo: gr.Blocks, language: gr.Radio) -> TabHooks:
    """Connect the tab's components: the analysis chain, redraws from the state; returns the tab's page hooks."""
    t = tab
    u = ClipViewUpdates(t, banners)
    outputs = u.outputs()

    def analyse_and_draw(
        video: str | None,
        model: str | None,
        frames: int,
        lang: str,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> Updates:
        """The Analyse button: the frames' forward passes, the attention video (in the reader's language) and every
        view, in one answer."""

        def report(fraction: float, description: str) -> None:
            progress(fraction, desc=description)

        result = views.analysed_clip(video, model, int(frames), report, owner=_owner(request))
        encoding = views.video_view_soon(result, lang)  # H.264 on its own thread while the figures are drawn
        return u.result_updates(result, views.clip_views(result, lang), encoding, lang)

    def stale(model: str | None, lang: str) -> Updates:
        return u.blank(banners.stale(model, lang))

    def show(result: Any, lang: str) -> Updates:
        if result is None:
            return u.blank(banners.nothing(lang))
        encoding = views.video_view_soon(result, lang)
        v = views.clip_views(result, lang)
        drawn = u.views_updates(v, lang)
        return {**u.header_updates(v, encoding.result(), lang), **drawn}

    def failed(model: str | None, frames: int, lang: str, request: gr.Request | None = None) -> Updates:
        message = failure_message(request, SCOPE, lang)
        return {**u.blank(banners.failed(message, lang)), **u.model_updates(model, frames, lang, _owner(request))}

    flow = OneTrip(
        scope=SCOPE, tab="tab-clip", banner="clip-showing", model="clip-model",
        run=analyse_and_draw, run_in=[t.video, t.model, t.frames, language], outputs=outputs,
        failed=failed, failed_in=[t.model, t.frames, language], failed_out=[*outputs, t.model, t.domain, t.frames],
        api=analyse_clip_event, api_in=[t.video, t.model, t.frames],
        api_out=[t.predictions, t.attention_video, t.summary, t.state], api_name="analyse_clip",
        api_description=API_DESCRIPTION,
    )  # fmt: skip
    flow.publish()
    flow.on(t.run.click)
    if t.examples is not None:
        flow.on(t.examples.load_input_event.then)
    for control in (t.video, t.model, t.frames):  # the user changed the clip, the model or the frames
        control.input(
            guarded(stale), inputs=[t.model, language], outputs=outputs, queue=False, show_progress="hidden",
            api_visibility="private",
        )  # fmt: skip

    def on_model(model: str | None, frames: int, lang: str) -> Updates:
        updates = u.model_updates(model, frames, lang)
        return {t.domain: updates[t.domain], t.frames: updates[t.frames]}  # not the list itself: no loop

    t.model.change(
        guarded(on_model), inputs=[t.model, t.frames, language], outputs=[t.domain, t.frames],
        queue=False, api_visibility="private", show_progress="hidden",
    )  # fmt: skip

    def to_photo_model(frames: int, lang: str, request: gr.Request | None = None) -> Updates:
        photo = catalogue.photo_model()
        if photo is None:
            raise gr.Error(views.say(lang, "clip_switch_needs", model="seresnet50.a1_in1k"))
        return u.model_updates(photo, frames, lang, _owner(request))

    switched = t.switch.click(
        guarded(to_photo_model), inputs=[t.frames, language], outputs=[t.model, t.domain, t.frames],
        queue=False, api_visibility="private",
    )  # fmt: skip
    flow.on(switched.success)
    _wire_redraws(t, u, language)

    def relabel(result: Any, model: str | None, frames: int, lang: str, request: gr.Request | None = None) -> Updates:
        owner = _owner(request)
        return {**u.model_updates(model, frames, lang, owner), **show(result, lang)}  # the video is drawn again

    def on_language(after: Chain) -> None:
        after(
            guarded(relabel),
            inputs=[t.state, t.model, t.frames, language],
            outputs=[*outputs, t.model, t.domain, t.frames],
            api_visibility="private",
            concurrency_id=LIGHT,
        )

    def arrive(lang: str, request: gr.Request | None = None) -> Updates:
        """The tab's first example, every view drawn, in one answer."""
        path, model, frames, label_, video, summary, result = views.clip_arrival()
        drawn = u.blank(banners.nothing(lang))
        if result is not None:
            v = views.clip_views(result, lang)
            shown = views.Shown(video) if lang == "en" and video else views.video_view(result, lang)
            drawn = {**u.header_updates(v, shown, lang), **u.views_updates(v, lang)}
        return {
            **drawn, t.video: path, **u.model_updates(model, frames, lang, _owner(request)),
            t.predictions: gr.update(value=label_, visible=result is not None), t.summary: summary, t.state: result,
        }  # fmt: skip

    def arrival(after: Chain) -> None:
        after(
            guarded(arrive),
            inputs=[language],
            outputs=[*outputs, t.video, t.model, t.domain, t.frames],
            api_visibility="private",
            concurrency_id=LIGHT,
        )

    return TabHooks(arrival, on_language)


def _wire_redraws(t: ClipTab, u: ClipViewUpdates, language: gr.Radio) -> None:
    """The frame scrubber and the block list redraw from the state; the bundle on request."""

    def on_frame(result: Any, position: int, block: str | None, lang: str) -> Updates:
        if result is None:
            return {}
        image, chart = views.clip_frame_view(result, int(position) - 1, block, lang)
        return u.frame_updates(image, chart)

    def frame_failed(message: views.UserMessage) -> Updates:
        return note(t.frame_chart_note, message.short)

    t.frame.input(
        safely(on_frame, frame_failed),
        inputs=[t.state, t.frame, t.block, language],
        outputs=[t.frame_image, t.frame_chart, t.frame_chart_note],
        api_visibility="private",
        concurrency_id=LIGHT,
        trigger_mode="always_last",
        show_progress="hidden",
    )

    def on_block(result: Any, position: int, block: str | None, lang: str) -> Updates:
        if result is None:
            return {}
        image, chart = views.clip_frame_view(result, int(position) - 1, block, lang)
        return {**u.frame_updates(image, chart), **u.time_updates(views.clip_time_view(result, block, lang))}

    t.block.select(  # a pick (mouse or keyboard); the dropdown's input event fires twice for one pick
        safely(on_block, frame_failed),
        inputs=[t.state, t.frame, t.block, language],
        outputs=[t.frame_image, t.frame_chart, t.frame_chart_note, t.timeline, t.timeline_note],
        api_visibility="private",
        concurrency_id=LIGHT,
    )

    def prepare_bundle(result: Any, lang: str) -> Updates:
        if result is None:
            return note(t.bundle_note, views.say(lang, "error_first"))
        path = views.bundle_view(result)
        return {t.bundle_download: gr.update(value=str(path), visible=True), **note(t.bundle_note, "")}

    def bundle_failed(message: views.UserMessage) -> Updates:
        return {t.bundle_download: gr.update(visible=False), **note(t.bundle_note, message.short)}

    t.bundle_prepare.click(
        safely(prepare_bundle, bundle_failed),
        inputs=[t.state, language],
        outputs=[t.bundle_download, t.bundle_note],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
