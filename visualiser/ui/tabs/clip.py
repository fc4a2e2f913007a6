"""The Clip tab: attention over time, a frame scrubber, and a hand-off to the 3D-convolution tab.

``/analyse_clip`` (public) samples frames, runs the model (one 3-D pass, or a 2-D pass per frame)
with a progress bar, and returns the clip-level top-5, the attention video and a JSON summary. The
timeline, stability and per-frame views are private redraws from the stored result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.ui import views
from visualiser.ui.boundary import guarded
from visualiser.ui.components import HEAVY, LIGHT, clip_examples, png_image


@dataclass
class ClipTab:
    """Handles other parts of the UI and the tests need."""

    video: gr.Video
    model: gr.Dropdown
    frames: gr.Slider
    run: gr.Button
    predictions: gr.Label
    attention_video: gr.Video
    summary: gr.JSON
    state: gr.State
    to_conv3d: gr.Button


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


def build_clip_tab(i18n: gr.I18n) -> ClipTab:
    """Lay out the Clip tab inside the current Blocks and wire its events."""
    state = gr.State(None, time_to_live=3600)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            video = gr.Video(label=i18n("clip_input"), sources=["upload", "webcam"], height=300, elem_id="clip-input")
            model = gr.Dropdown(
                choices=catalogue.clip_model_choices(),
                value=catalogue.default_model("clip"),
                label=i18n("model"),
                info=i18n("clip_model_info"),
            )
            frames = gr.Slider(2, 32, value=16, step=1, label=i18n("frames"), info=i18n("frames_info"))
            run = gr.Button(i18n("analyse"), variant="primary", elem_id="clip-run")
        with gr.Column(scale=5, min_width=320):
            predictions = gr.Label(num_top_classes=5, label=i18n("predictions"), elem_id="clip-predictions")
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
    examples = clip_examples(embedded_first=catalogue.is_embedded(model.value))
    if examples:
        default_model, default_frames = model.value, int(frames.value)

        def run_example(clip: str | None) -> tuple:
            """Examples use the default model and frame count (set back on the controls, cached per clip)."""
            return (*views.analyse_clip(clip, default_model, default_frames), default_model, default_frames)

        gr.Examples(
            examples=[[path] for path in examples],
            inputs=[video],
            outputs=[predictions, attention_video, summary, model, frames],
            fn=guarded(views.png_files(run_example)),
            cache_examples=True,
            cache_mode="lazy",
            label=i18n("examples"),
            api_visibility="private",
        )
    with gr.Row():
        block = gr.Dropdown(choices=[], label=i18n("block"), info=i18n("block_info"), scale=3)
        frame = gr.Slider(
            0, 15, value=0, step=1, label=i18n("frame"), info=i18n("frame_info"), scale=3, elem_id="clip-frame"
        )
    with gr.Row():
        frame_image = png_image(i18n("frame_heatmap"), elem_id="clip-frame-image")
        frame_chart = gr.Plot(label=i18n("frame_chart"))
    timeline = gr.Plot(label=i18n("over_time"), elem_id="clip-timeline")
    stability = gr.Plot(label=i18n("stability"))

    run.click(
        guarded(analyse_clip_event),
        inputs=[video, model, frames],
        outputs=[predictions, attention_video, summary],
        api_name="analyse_clip",
        api_description="Analyse a clip: sample frames evenly, run the model (3-D models see the whole clip, "
        "image models each frame), and return the clip-level top-5, an MP4 of the attention over the frames "
        "and a JSON summary.",
        api_visibility="public",
        concurrency_id=HEAVY,
    )

    def show_views(clip: str | None, name: str | None, n: int) -> tuple:
        shown = views.clip_views(clip, name, int(n))
        return (
            shown.result,
            gr.Dropdown(choices=shown.blocks, value=shown.block),
            gr.Slider(minimum=0, maximum=max(1, shown.frames - 1), value=0, step=1, interactive=shown.frames > 1),
            shown.frame_image,
            shown.frame_chart,
            shown.over_time,
            shown.stability,
            shown.timings,
            gr.DownloadButton(visible=False),
        )

    summary.change(
        guarded(views.png_files(show_views)),
        inputs=[video, model, frames],
        outputs=[state, block, frame, frame_image, frame_chart, timeline, stability, timings, bundle_download],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    frame.input(
        guarded(views.png_files(views.clip_frame_view)),
        inputs=[state, frame, block],
        outputs=[frame_image, frame_chart],
        api_visibility="private",
        concurrency_id=LIGHT,
        trigger_mode="always_last",
        show_progress="hidden",
    )

    def on_block(result: Any, index: int, name: str) -> tuple:
        picture, chart = views.clip_frame_view(result, index, name)
        return picture, chart, views.clip_time_view(result, name)

    block.input(
        guarded(views.png_files(on_block)),
        inputs=[state, frame, block],
        outputs=[frame_image, frame_chart, timeline],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    bundle_prepare.click(
        guarded(lambda result: gr.DownloadButton(value=str(views.bundle_view(result)), visible=True)),
        inputs=[state],
        outputs=[bundle_download],
        api_visibility="private",
        concurrency_id=HEAVY,
    )
    return ClipTab(video, model, frames, run, predictions, attention_video, summary, state, to_conv3d)
