"""The Clip tab's layout: attention over time, a frame scrubber, and a hand-off to the 3D-convolution tab.

The events are wired in ``clip_events``. Frames are numbered from 1 (the scrubber and the captions agree);
every view a model may be unable to fill has a note that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from gradio.helpers import Examples

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.components import clip_examples, figure_note, png_image


@dataclass
class ClipTab:
    """Every component of the tab (the events, other tabs and the tests use them)."""

    state: gr.State
    video: gr.Video
    model: gr.Dropdown
    domain: gr.Markdown
    frames: gr.Slider
    run: gr.Button
    predictions: gr.Label
    notice: gr.Markdown
    switch: gr.Button
    attention_video: gr.Video
    video_note: gr.Markdown
    timings: gr.Markdown
    summary: gr.JSON
    to_conv3d: gr.Button
    bundle_prepare: gr.Button
    bundle_download: gr.DownloadButton
    bundle_note: gr.Markdown
    examples: Examples | None
    showing: gr.Markdown
    views_section: gr.Column
    attention_note: gr.Markdown
    block: gr.Dropdown
    frame: gr.Slider
    frame_image: gr.Image
    frame_chart: gr.Image
    frame_chart_note: gr.Markdown
    timeline: gr.Image
    timeline_note: gr.Markdown
    stability: gr.Image
    stability_note: gr.Markdown


def layout_clip_tab(i18n: gr.I18n, banners: Banners) -> ClipTab:
    """Place the Clip tab's components inside the current Blocks (no events)."""
    state = gr.State(None, time_to_live=3600)
    default = catalogue.default_model("clip")
    frames_control = views.frames_control(default)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            video = gr.Video(label=i18n("clip_input"), sources=["upload", "webcam"], height=300, elem_id="clip-input")
            model = gr.Dropdown(
                choices=catalogue.clip_model_choices(),
                value=default,
                label=i18n("model"),
                info=i18n("clip_model_info"),
                elem_id="clip-model",
            )
            domain = gr.Markdown(banners.domain(default, "en"), elem_id="clip-domain", elem_classes=["domain"])
            frames = gr.Slider(
                frames_control.minimum, frames_control.maximum, value=frames_control.value, step=1,
                label=i18n("frames"), info=frames_control.info, interactive=frames_control.interactive,
                elem_id="clip-frames",
            )  # fmt: skip
            run = gr.Button(i18n("analyse"), variant="primary", elem_id="clip-run")
        with gr.Column(scale=5, min_width=320):
            predictions = gr.Label(
                num_top_classes=5, label=i18n("predictions"), elem_id="clip-predictions", elem_classes=["av-result"]
            )
            notice = gr.Markdown(visible=False, elem_id="clip-notice", elem_classes=["notice", "av-result"])
            switch = gr.Button(i18n("switch_video_model"), visible=False, size="sm", elem_id="clip-switch")
            attention_video = gr.Video(
                label=i18n("attention_video"),
                interactive=False,
                autoplay=True,
                elem_classes=["figure-out", "av-result"],
                loop=True,
                elem_id="clip-video",
            )
            video_note = figure_note("clip-video-note")
            timings = gr.Markdown(elem_classes=["timings", "av-result"], elem_id="clip-timings")
            with gr.Accordion(i18n("raw_result"), open=False):
                summary = gr.JSON(label=i18n("raw_result"), open=False)
            to_conv3d = gr.Button(i18n("to_conv3d"), elem_id="clip-to-conv3d")
            with gr.Row():
                bundle_prepare = gr.Button(i18n("bundle_prepare"), elem_id="clip-bundle-prepare")
                bundle_download = gr.DownloadButton(i18n("bundle_download"), visible=False, elem_id="clip-bundle")
            bundle_note = figure_note("clip-bundle-note")
    files = clip_examples(embedded_first=catalogue.is_embedded(default))
    examples = None
    if files:
        examples = gr.Examples(
            examples=[[path] for path in files],
            inputs=[video],
            label=i18n("examples"),
            examples_per_page=len(files),  # one page, as on the Image tab
            api_visibility="private",
        )
    showing = gr.Markdown(banners.nothing("en"), elem_id="clip-showing", elem_classes=["showing"])
    with gr.Column(elem_id="clip-views-section", elem_classes=["av-result"]) as views_section:
        attention_note = figure_note("clip-attention-note")
        with gr.Row():
            block = gr.Dropdown(choices=[], label=i18n("block"), info=i18n("block_info"), scale=3, elem_id="clip-block")
            frame = gr.Slider(
                1, 16, value=1, step=1, label=i18n("frame"), info=i18n("frame_info"), scale=3, elem_id="clip-frame"
            )
        with gr.Row(equal_height=False):
            frame_image = png_image(i18n("frame_heatmap"), elem_id="clip-frame-image")
            with gr.Column():
                frame_chart = png_image(i18n("frame_chart"), elem_id="clip-frame-chart")
                frame_chart_note = figure_note("clip-frame-chart-note")
        timeline = png_image(i18n("over_time"), elem_id="clip-timeline")
        timeline_note = figure_note("clip-timeline-note")
        stability = png_image(i18n("stability"), elem_id="clip-stability")
        stability_note = figure_note("clip-stability-note")
    placed = {k: v for k, v in locals().items() if isinstance(v, gr.blocks.Block | Examples) or v is None}
    return ClipTab(**{name: placed[name] for name in ClipTab.__dataclass_fields__})
