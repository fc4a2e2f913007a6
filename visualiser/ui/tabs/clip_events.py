"""The Clip tab's events: ``/analyse_clip`` once (with progress), then every view from the stored result.

Same shape as the Image tab (``flow.AnalysisFlow``): the old views are cleared before an analysis starts and
whenever the clip, the model or the frame count changes; each view's title names the model and the frames.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT
from visualiser.ui.tabs.clip import ClipTab
from visualiser.ui.tabs.flow import AnalysisFlow, clear_on_change, start

VIDEO_MODEL = "r3d_18"  # the Kinetics-400 network offered for real clips (the embedded one knows generated motions)


def analyse_clip_event(
    video: str | None,
    model: str | None,
    frames: int,
    progress: gr.Progress = gr.Progress(),  # noqa: B008
) -> tuple:
    """The public clip endpoint: progress goes to the browser's progress bar."""

    def report(fraction: float, description: str) -> None:
        progress(fraction, desc=description)

    return views.analyse_clip(video, model, int(frames), report)


def wire_clip_tab(tab: ClipTab, i18n: gr.I18n, banners: Banners, demo: gr.Blocks) -> None:
    """Connect the tab's components: the analysis chain, redraws from the state, arrival."""
    t = tab
    views_out = [
        t.showing, t.block, t.frame, t.frame_image, t.frame_chart, t.timeline, t.stability, t.timings,
        t.bundle_download, t.notice, t.switch,
    ]  # fmt: skip
    public_out = [t.predictions, t.attention_video, t.summary, t.state]
    pending_out = [t.predictions, t.attention_video, t.summary, t.state, *views_out]

    def titled(key: str, caption: str) -> Any:
        return i18n(key) + f" · {caption}" if caption else i18n(key)

    def blank(banner: str) -> tuple:
        return (
            banner, gr.Dropdown(choices=[], value=None), gr.Slider(value=0),
            gr.Image(None, label=i18n("frame_heatmap")), gr.Plot(None, label=i18n("frame_chart")),
            gr.Plot(None, label=i18n("over_time")), gr.Plot(None, label=i18n("stability")), "",
            gr.DownloadButton(visible=False), gr.Markdown("", visible=False), gr.Button(visible=False),
        )  # fmt: skip

    def pending(model: str | None) -> tuple:
        return (None, gr.Video(None, label=i18n("attention_video")), None, None, *blank(banners.pending(model)))

    def stale(model: str | None) -> tuple:
        return (None, gr.Video(None, label=i18n("attention_video")), None, None, *blank(banners.stale(model)))

    def show_views(result: Any) -> tuple:
        if result is None:
            return blank(banners.nothing())
        v = views.clip_views(result)
        c = v.caption
        return (
            banners.showing(c), gr.Dropdown(choices=v.blocks, value=v.block),
            gr.Slider(minimum=0, maximum=max(1, v.frames - 1), value=0, step=1, interactive=v.frames > 1),
            gr.Image(v.frame_image, label=titled("frame_heatmap", c)),
            gr.Plot(v.frame_chart, label=titled("frame_chart", c)),
            gr.Plot(v.over_time, label=titled("over_time", c)), gr.Plot(v.stability, label=titled("stability", c)),
            v.timings, gr.DownloadButton(visible=False),
            gr.Markdown(v.notice, visible=bool(v.notice)), gr.Button(visible=bool(v.notice)),
        )  # fmt: skip

    flow = AnalysisFlow(
        pending=pending, pending_in=[t.model], pending_out=pending_out,
        analyse=analyse_clip_event, analyse_in=[t.video, t.model, t.frames], analyse_out=public_out,
        show=views.png_files(show_views), show_in=[t.state], show_out=views_out, banner=t.showing,
        failed_text=banners.failed(), api_name="analyse_clip",
        api_description="Analyse a clip: sample frames evenly, run the model (3-D models see the whole clip, "
        "image models each frame), and return the clip-level top-5, an MP4 of the attention over the frames "
        "and a JSON summary.",
    )  # fmt: skip
    flow.chain(start(t.run), public=True)
    if t.examples is not None:
        flow.chain(t.examples.load_input_event, public=False)
    clear_on_change([t.video, t.model, t.frames], flow, stale)

    def to_video_model() -> tuple:
        return VIDEO_MODEL, banners.domain(VIDEO_MODEL)

    switched = t.switch.click(to_video_model, outputs=[t.model, t.domain], queue=False, api_visibility="private")
    flow.chain(switched, public=False)
    t.model.change(banners.domain, inputs=[t.model], outputs=[t.domain], queue=False, api_visibility="private")
    def arrive() -> tuple:
        path, model, frames, *public = views.clip_arrival()
        return (path, model, banners.domain(model), frames, *public)

    arrival = demo.load(
        guarded(arrive),
        outputs=[t.video, t.model, t.domain, t.frames, *public_out],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    flow.draw(arrival.success)
    _wire_redraws(t)


def _wire_redraws(t: ClipTab) -> None:
    t.frame.input(
        guarded(views.png_files(views.clip_frame_view)),
        inputs=[t.state, t.frame, t.block],
        outputs=[t.frame_image, t.frame_chart],
        api_visibility="private",
        concurrency_id=LIGHT,
        trigger_mode="always_last",
        show_progress="hidden",
    )

    def on_block(result: Any, index: int, name: str) -> tuple:
        picture, chart = views.clip_frame_view(result, index, name)
        return picture, chart, views.clip_time_view(result, name)

    t.block.input(
        guarded(views.png_files(on_block)),
        inputs=[t.state, t.frame, t.block],
        outputs=[t.frame_image, t.frame_chart, t.timeline],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    t.bundle_prepare.click(
        guarded(lambda result: gr.DownloadButton(value=str(views.bundle_view(result)), visible=True)),
        inputs=[t.state],
        outputs=[t.bundle_download],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
