"""The 3D-convolution tab: a real kernel sliding over the user's clip, with the arithmetic on screen.

``/conv3d_animation`` (public) returns the MP4, the output-shape formula and the parameter counts, and the
plan for ``gr.State`` (the API leaves it out); the step scrubber draws single frames from that plan (cheap:
nothing is re-encoded). The tab opens with the default settings over a shipped clip, and any change to the
clip or the settings clears the animation that no longer matches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.paths import source_name
from visualiser.settings import Conv3dSettings
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import guarded
from visualiser.ui.components import LIGHT, clip_examples, png_image
from visualiser.ui.tabs.flow import AnalysisFlow, clear_on_change, start

MODE_CHOICES = (("mode_3d", "3d"), ("mode_2d_vs_3d", "2d_vs_3d"))


@dataclass
class Conv3dTab:
    """Handles other parts of the UI and the tests need."""

    video: gr.Video
    kernel: gr.Dropdown
    run: gr.Button
    animation: gr.Video
    formula: gr.Textbox
    parameters: gr.Markdown
    step: gr.Slider
    step_image: gr.Image
    showing: gr.Markdown
    flow: AnalysisFlow


def conv3d_animation(
    video: str | None,
    kernel: str,
    kernel_t: int,
    kernel_hw: int,
    stride_t: int,
    stride_hw: int,
    padding_t: int,
    padding_hw: int,
    dilation_t: int,
    dilation_hw: int,
    out_channel: int,
    mode: str,
) -> tuple:
    """The public endpoint: the animation MP4, the output-shape formula, the parameter counts (and the plan)."""
    return views.conv3d_animation(video, _settings(locals()))


def _settings(values: dict[str, Any]) -> Conv3dSettings:
    names = Conv3dSettings.__dataclass_fields__
    typed = {k: (v if k in ("kernel", "mode") else int(v)) for k, v in values.items() if k in names}
    return Conv3dSettings(**typed)


def _axis_pair(label_t: Any, label_hw: Any, low: int, high: int, value: int) -> tuple[gr.Slider, gr.Slider]:
    with gr.Row():
        t = gr.Slider(low, high, value=value, step=1, label=label_t)
        hw = gr.Slider(low, high, value=value, step=1, label=label_hw)
    return t, hw


CONV3D_EXAMPLES = 4


def build_conv3d_tab(i18n: gr.I18n, banners: Banners, demo: gr.Blocks) -> Conv3dTab:
    """Lay out the 3D-convolution tab inside the current Blocks and wire its events."""
    plan_state = gr.State(None, time_to_live=3600)
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320):
            video = gr.Video(label=i18n("clip_input"), sources=["upload"], height=240, elem_id="conv3d-input")
            kernels = catalogue.kernel_choices()
            kernel = gr.Dropdown(
                choices=kernels, value=kernels[0][1], label=i18n("kernel_source"), info=i18n("kernel_info")
            )
            mode = gr.Radio(
                choices=[(i18n(key), value) for key, value in MODE_CHOICES], value="3d", label=i18n("conv_mode")
            )
            with gr.Accordion(i18n("geometry"), open=True):
                kernel_t, kernel_hw = _axis_pair(i18n("kernel_t"), i18n("kernel_hw"), 1, 7, 3)
                stride_t, stride_hw = _axis_pair(i18n("stride_t"), i18n("stride_hw"), 1, 4, 1)
                padding_t, padding_hw = _axis_pair(i18n("padding_t"), i18n("padding_hw"), 0, 3, 0)
                dilation_t, dilation_hw = _axis_pair(i18n("dilation_t"), i18n("dilation_hw"), 1, 3, 1)
                out_channel = gr.Number(value=0, precision=0, minimum=0, label=i18n("out_channel"))
            run = gr.Button(i18n("animate"), variant="primary", elem_id="conv3d-run")
        with gr.Column(scale=6, min_width=360):
            showing = gr.Markdown(banners.nothing(), elem_id="conv3d-showing", elem_classes=["showing"])
            animation = gr.Video(
                label=i18n("animation"),
                interactive=False,
                autoplay=True,
                loop=True,
                elem_id="conv3d-video",
                elem_classes=["figure-out"],
            )
            step = gr.Slider(0, 1, value=0, step=1, label=i18n("step"), info=i18n("step_info"), elem_id="conv3d-step")
            step_image = png_image(i18n("step_frame"), elem_id="conv3d-step-image")
            formula = gr.Textbox(label=i18n("shape_formula"), lines=4, interactive=False, elem_classes=["mono"])
            parameters = gr.Markdown(label=i18n("parameters"), elem_id="conv3d-parameters")
    inputs = [
        video, kernel, kernel_t, kernel_hw, stride_t, stride_hw, padding_t, padding_hw, dilation_t, dilation_hw,
        out_channel, mode,
    ]  # fmt: skip
    # Real scenes show the sliding kernel best; two motions are enough here (the Clip tab has them all), and
    # Gradio probes every example video with ffprobe at start-up (~65 ms each, twice), so fewer start faster.
    files = clip_examples(embedded_first=False)[:CONV3D_EXAMPLES]
    examples = None
    if files:
        examples = gr.Examples(
            examples=[[path] for path in files], inputs=[video], label=i18n("examples"), api_visibility="private"
        )
    views_out = [showing, step, step_image]
    public_out = [animation, formula, parameters, plan_state]
    pending_out = [*public_out, *views_out]

    def blank(banner: str) -> tuple:
        return (gr.Video(None), "", "", None, banner, gr.Slider(minimum=0, maximum=1, value=0), None)

    def pending() -> tuple:
        return blank(banners.animating())

    def stale() -> tuple:
        return blank(banners.animation_stale())

    def show_plan(plan: Any, clip: str | None) -> tuple:
        if plan is None:
            return banners.nothing(), gr.Slider(minimum=0, maximum=1, value=0), None
        last = plan.steps - 1
        banner = banners.showing(views.plan_caption(plan, source_name(clip)))
        return banner, gr.Slider(minimum=0, maximum=max(1, last), value=last, step=1), views.conv3d_step(plan, last)

    flow = AnalysisFlow(
        pending=pending, pending_in=[], pending_out=pending_out,
        analyse=conv3d_animation, analyse_in=inputs, analyse_out=public_out,
        show=views.png_files(show_plan), show_in=[plan_state, video], show_out=views_out, banner=showing,
        failed_text=banners.failed(), api_name="conv3d_animation",
        api_description="Animate a 3D convolution sliding over a clip (reduced to a coarse T×H×W grid of cells). "
        "kernel is 'teaching:<name>' or 'model:<registry name>'; kernel_t/kernel_hw apply to teaching kernels. "
        "Returns the MP4, the output-shape formula per axis and the parameter counts (3D vs 2D).",
    )  # fmt: skip
    flow.chain(start(run), public=True)
    if examples is not None:
        flow.chain(examples.load_input_event, public=False)
    clear_on_change(inputs, flow, stale)
    arrival = demo.load(
        guarded(views.conv3d_arrival),
        outputs=[video, *public_out],
        api_visibility="private",
        concurrency_id=LIGHT,
    )
    flow.draw(arrival.success)
    step.input(
        guarded(views.png_files(views.conv3d_step)),
        inputs=[plan_state, step],
        outputs=[step_image],
        api_visibility="private",
        concurrency_id=LIGHT,
        trigger_mode="always_last",
        show_progress="hidden",
    )
    return Conv3dTab(video, kernel, run, animation, formula, parameters, step, step_image, showing, flow)
