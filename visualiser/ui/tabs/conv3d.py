"""The 3D-convolution tab: a real kernel sliding over the user's clip, with the arithmetic on screen.

``/conv3d_animation`` (public) returns the MP4, the output-shape formula and the parameter counts, and the
plan for ``gr.State`` (the API leaves it out); the step scrubber draws single frames from that plan (cheap:
nothing is re-encoded). The tab opens with the default settings over a shipped clip, and any change to the
clip or the settings clears the animation that no longer matches them. The controls are bounded by the
kernel in use: a model's first layer shows (and fixes) its own size, the output channel goes up to its last
kernel group, and steps are numbered from 1 as on the animation's own counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.paths import source_name
from visualiser.settings import Conv3dSettings
from visualiser.ui import views
from visualiser.ui.banners import Banners, banner_text
from visualiser.ui.boundary import failure_message, guarded, safely
from visualiser.ui.components import HEAVY, LIGHT, clip_examples, picture, png_image
from visualiser.ui.tabs.flow import Chain, OneTrip, TabHooks, Updates

MODE_CHOICES = (("mode_3d", "3d"), ("mode_2d_vs_3d", "2d_vs_3d"))
SCOPE = "conv3d"
CONV3D_EXAMPLES = 4
API_DESCRIPTION = (
    "Animate a 3D convolution sliding over a clip (reduced to a coarse T×H×W grid of cells). kernel is "
    "'teaching:<name>' or 'model:<registry name>'; kernel_t/kernel_hw apply to teaching kernels. Returns the "
    "MP4, the output-shape formula per axis and the parameter counts (3D vs 2D)."
)


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
    flow: OneTrip
    hooks: TabHooks


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


_SETTING_NAMES = (
    "video", "kernel", "kernel_t", "kernel_hw", "stride_t", "stride_hw", "padding_t", "padding_hw", "dilation_t",
    "dilation_hw", "out_channel", "mode",
)  # conv3d_animation's parameters, in the order of the tab's inputs


def _settings(values: dict[str, Any]) -> Conv3dSettings:
    names = Conv3dSettings.__dataclass_fields__
    typed = {k: (v if k in ("kernel", "mode") else int(v)) for k, v in values.items() if k in names}
    return Conv3dSettings(**typed)


def _axis_pair(label_t: Any, label_hw: Any, low: int, high: int, value: int, name: str) -> tuple[gr.Slider, gr.Slider]:
    with gr.Row():
        t = gr.Slider(low, high, value=value, step=1, label=label_t, elem_id=f"conv3d-{name}-t")
        hw = gr.Slider(low, high, value=value, step=1, label=label_hw, elem_id=f"conv3d-{name}-hw")
    return t, hw


def build_conv3d_tab(i18n: gr.I18n, banners: Banners, demo: gr.Blocks, language: gr.Radio) -> Conv3dTab:
    """Lay out the 3D-convolution tab inside the current Blocks and wire its events."""
    plan_state = gr.State(None, time_to_live=3600)
    kernels = catalogue.kernel_choices()
    first = views.kernel_facts(kernels[0][1]) if kernels[0][1].startswith("teaching:") else None
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=320):
            video = gr.Video(label=i18n("clip_input"), sources=["upload"], height=240, elem_id="conv3d-input")
            kernel = gr.Dropdown(
                choices=kernels, value=kernels[0][1], label=i18n("kernel_source"), info=i18n("kernel_info"),
                elem_id="conv3d-kernel",
            )  # fmt: skip
            mode = gr.Radio(
                choices=[(i18n(key), value) for key, value in MODE_CHOICES], value="3d", label=i18n("conv_mode"),
                elem_id="conv3d-mode",
            )  # fmt: skip
            with gr.Accordion(i18n("geometry"), open=True):
                kernel_t, kernel_hw = _axis_pair(i18n("kernel_t"), i18n("kernel_hw"), 1, 7, 3, "kernel")
                size_note = gr.Markdown(first.size_info if first else "", elem_id="conv3d-size-note")
                stride_t, stride_hw = _axis_pair(i18n("stride_t"), i18n("stride_hw"), 1, 4, 1, "stride")
                padding_t, padding_hw = _axis_pair(i18n("padding_t"), i18n("padding_hw"), 0, 3, 0, "padding")
                dilation_t, dilation_hw = _axis_pair(i18n("dilation_t"), i18n("dilation_hw"), 1, 3, 1, "dilation")
                out_channel = gr.Number(
                    value=0, precision=0, minimum=0, maximum=(first.groups - 1) if first else None,
                    label=i18n("out_channel"), info=first.channel_info if first else None,
                    interactive=bool(first and first.groups > 1), elem_id="conv3d-out-channel",
                )  # fmt: skip
            run = gr.Button(i18n("animate"), variant="primary", elem_id="conv3d-run")
        with gr.Column(scale=6, min_width=360):
            showing = gr.Markdown(banners.nothing("en"), elem_id="conv3d-showing", elem_classes=["showing"])
            animation = gr.Video(
                label=i18n("animation"),
                interactive=False,
                autoplay=True,
                loop=True,
                elem_id="conv3d-video",
                elem_classes=["figure-out"],
            )
            step = gr.Slider(1, 2, value=1, step=1, label=i18n("step"), info=i18n("step_info"), elem_id="conv3d-step")
            step_image = png_image(i18n("step_frame"), elem_id="conv3d-step-image")
            formula = gr.Textbox(
                label=i18n("shape_formula"), lines=4, interactive=False, elem_classes=["mono"], elem_id="conv3d-formula"
            )
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
    outputs = [animation, formula, parameters, plan_state, showing, step, step_image]

    def blank(banner: str) -> Updates:
        return {
            animation: gr.update(value=None, visible=False), formula: "", parameters: "", plan_state: None,
            showing: banner, step: gr.update(minimum=1, maximum=2, value=1, visible=False),
            step_image: gr.update(value=None, visible=False),
        }  # fmt: skip

    def stale(lang: str) -> Updates:
        return blank(banners.animation_stale(lang))

    def drawn(plan: Any, clip: str | None, movie: Any, formula_text: Any, params_text: Any, lang: str) -> Updates:
        """Every view of one animation: the banner, the MP4, the texts (when given), the step scrubber at the end."""
        steps = plan.steps
        banner = banners.showing(views.plan_caption(plan, source_name(clip), lang), lang)
        texts = {} if formula_text is None else {formula: formula_text, parameters: params_text}
        return {
            showing: banner, **picture(animation, views.Shown(movie)), **texts, plan_state: plan,
            step: gr.update(
                minimum=1, maximum=max(2, steps), value=steps, step=1, visible=True, interactive=steps > 1,
                info=views.say(lang, "step_info", steps=steps),
            ),
            **picture(step_image, views.Shown(views.conv3d_step(plan, steps - 1, lang))),
        }  # fmt: skip

    def show(plan: Any, clip: str | None, lang: str) -> Updates:
        if plan is None:
            return blank(views.say(lang, "animation_nothing"))
        return drawn(plan, clip, *views.conv3d_outputs(plan, lang), lang)

    def animate_and_draw(
        video_: str | None,
        kernel_: str,
        kernel_t_: int,
        kernel_hw_: int,
        stride_t: int,
        stride_hw: int,
        padding_t: int,
        padding_hw: int,
        dilation_t: int,
        dilation_hw: int,
        out_channel_: int,
        mode_: str,
        lang: str,
    ) -> Updates:
        """Animate: the plan, the MP4 and the texts in the reader's language and the last step, in one answer."""
        values = (video_, kernel_, kernel_t_, kernel_hw_, stride_t, stride_hw, padding_t, padding_hw, dilation_t,
                  dilation_hw, out_channel_, mode_)  # fmt: skip
        plan = views.conv3d_plan(video_, _settings(dict(zip(_SETTING_NAMES, values, strict=True))))
        return drawn(plan, video_, *views.conv3d_outputs(plan, lang), lang)

    def failed(lang: str, request: gr.Request | None = None) -> Updates:
        message = failure_message(request, SCOPE, lang)
        return blank(banner_text(message, lang, "animation_failed"))

    flow = OneTrip(
        scope=SCOPE, tab="tab-conv3d", banner="conv3d-showing", model=None, phrase="animating",
        run=animate_and_draw, run_in=[*inputs, language], outputs=outputs, failed=failed, failed_in=[language],
        failed_out=outputs, api=conv3d_animation, api_in=inputs, api_out=[animation, formula, parameters, plan_state],
        api_name="conv3d_animation", api_description=API_DESCRIPTION,
    )  # fmt: skip
    flow.publish()
    flow.on(run.click)
    if examples is not None:
        flow.on(examples.load_input_event.then)
    for control in inputs:  # the clip or a setting changed: the animation on screen no longer matches them
        control.input(
            guarded(stale), inputs=[language], outputs=outputs, queue=False, show_progress="hidden",
            api_visibility="private",
        )  # fmt: skip

    def on_kernel(source: str, kt: int, khw: int, lang: str) -> Updates:
        """The size and output-channel controls follow the kernel: a model's layer fixes its own size."""
        facts = views.kernel_facts(source, kt, khw, lang)
        size = {"interactive": not facts.fixed}
        return {
            kernel_t: gr.update(value=facts.kernel_t, **size),
            kernel_hw: gr.update(value=facts.kernel_hw, **size),
            size_note: facts.size_info,
            out_channel: gr.update(
                value=0, maximum=facts.groups - 1, info=facts.channel_info, interactive=facts.groups > 1
            ),
        }

    def kernel_failed(message: views.UserMessage) -> Updates:
        return {size_note: message.short}

    kernel.input(
        safely(on_kernel, kernel_failed),
        inputs=[kernel, kernel_t, kernel_hw, language],
        outputs=[kernel_t, kernel_hw, size_note, out_channel],
        api_visibility="private",
        concurrency_id=HEAVY,
    )

    def on_step(plan: Any, position: int, lang: str) -> Updates:
        if plan is None:
            return {}
        return picture(step_image, views.Shown(views.conv3d_step(plan, int(position) - 1, lang)))

    step.input(
        safely(on_step, lambda message: {}),
        inputs=[plan_state, step, language],
        outputs=[step_image],
        api_visibility="private",
        concurrency_id=LIGHT,
        trigger_mode="always_last",
        show_progress="hidden",
    )

    def arrive(lang: str) -> Updates:
        """The tab's first example with the default settings, every view drawn, in one answer."""
        path, movie, formula_text, params_text, plan = views.conv3d_arrival()
        if plan is None:
            return {**blank(views.say(lang, "animation_nothing")), video: path}
        if lang != "en":
            movie, formula_text, params_text = views.conv3d_outputs(plan, lang)
        return {**drawn(plan, path, movie, formula_text, params_text, lang), video: path}

    def arrival(after: Chain) -> None:
        after(
            guarded(arrive),
            inputs=[language],
            outputs=[*outputs, video],
            api_visibility="private",
            concurrency_id=LIGHT,
        )

    def relabel(plan: Any, clip: str | None, source: str, kt: int, khw: int, lang: str) -> Updates:
        facts = views.kernel_facts(source, kt, khw, lang)
        return {
            **show(plan, clip, lang),
            kernel: gr.update(choices=catalogue.kernel_choices(lang)),
            size_note: facts.size_info,
            out_channel: gr.update(info=facts.channel_info),
        }

    def on_language(after: Chain) -> None:
        after(
            guarded(relabel),
            inputs=[plan_state, video, kernel, kernel_t, kernel_hw, language],
            outputs=[*outputs, kernel, size_note, out_channel],
            api_visibility="private",
            concurrency_id=HEAVY,
        )

    hooks = TabHooks(arrival, on_language)
    return Conv3dTab(video, kernel, run, animation, formula, parameters, step, step_image, showing, flow, hooks)
