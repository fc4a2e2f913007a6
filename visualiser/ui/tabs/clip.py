"""The Clip tab's layout: attention over time, a frame scrubber, and a hand-off to the 3D-convolution tab.

The events are wired in ``clip_events``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from visualiser import catalogue
from visualiser.ui.banners import Banners
from visualiser.ui.components import clip_examples, png_image


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
    timings: gr.Markdown
    summary: gr.JSON
    to_conv3d: gr.Button
    bundle_prepare: gr.Button
    bundle_download: gr.DownloadButton
    examples: gr.Examples | None
    showing: gr.Markdown
    block: gr.Dropdown
    frame: gr.Slider
    frame_image: gr.Image
    frame_chart: gr.Plot
    timeline: gr.Plot
    stability: gr.Plot


def layout_clip_tab(i18n: gr.I18n, banners: Banners) -> ClipTab:
    """Place the Clip tab's components inside the current Blocks (no events)."""
    state = gr.State(None, time_to_live=3600)
    default = catalogue.default_model("clip")
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
            domain = gr.Markdown(banners.domain(default), elem_id="clip-domain", elem_classes=["domain"])
            frames = gr.Slider(2, 32, value=16, step=1, label=i18n("frames"), info=i18n("frames_info"))
            run = gr.Button(i18n("analyse"), variant="primary", elem_id="clip-run")
        with gr.Column(scale=5, min_width=320):
            predictions = gr.Label(num_top_classes=5, label=i18n("predictions"), elem_id="clip-predictions")
            notice = gr.Markdown(visible=False, elem_id="clip-notice", elem_classes=["notice"])
            switch = gr.Button(i18n("switch_video_model"), visible=False, size="sm", elem_id="clip-switch")
            attention_video = gr.Video(
                label=i18n("attention_video"),
                interactive=False,
                autoplay=True,
                elem_classes=["figure-out"],
                loop=True,
                height=420,
                elem_id="clip-video",
            )
            timings = gr.Markdown(elem_classes=["timings"])
            with gr.Accordion(i18n("raw_result"), open=False):
                summary = gr.JSON(label=i18n("raw_result"), open=False)
            to_conv3d = gr.Button(i18n("to_conv3d"), elem_id="clip-to-conv3d")
            with gr.Row():
                bundle_prepare = gr.Button(i18n("bundle_prepare"), elem_id="clip-bundle-prepare")
                bundle_download = gr.DownloadButton(i18n("bundle_download"), visible=False)
    files = clip_examples(embedded_first=catalogue.is_embedded(default))
    examples = None
    if files:
        examples = gr.Examples(
            examples=[[path] for path in files], inputs=[video], label=i18n("examples"), api_visibility="private"
        )
    showing = gr.Markdown(banners.nothing(), elem_id="clip-showing", elem_classes=["showing"])
    with gr.Row():
        block = gr.Dropdown(choices=[], label=i18n("block"), info=i18n("block_info"), scale=3, elem_id="clip-block")
        frame = gr.Slider(
            0, 15, value=0, step=1, label=i18n("frame"), info=i18n("frame_info"), scale=3, elem_id="clip-frame"
        )
    with gr.Row():
        frame_image = png_image(i18n("frame_heatmap"), elem_id="clip-frame-image")
        frame_chart = gr.Plot(label=i18n("frame_chart"), elem_id="clip-frame-chart")
    timeline = gr.Plot(label=i18n("over_time"), elem_id="clip-timeline")
    stability = gr.Plot(label=i18n("stability"), elem_id="clip-stability")
    return ClipTab(
        state, video, model, domain, frames, run, predictions, notice, switch, attention_video, timings, summary,
        to_conv3d, bundle_prepare, bundle_download, examples, showing, block, frame, frame_image, frame_chart,
        timeline, stability,
    )  # fmt: skip
