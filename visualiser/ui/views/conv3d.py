"""3D-convolution tab: the plan from the pipeline's one orchestrator, its MP4 and single frames for the scrubber.

Steps are counted from 1 on screen (slider and the frame's own counter); ``conv3d_step`` takes the 0-based
index. The kernel controls are bounded by the kernel in use: a model's first layer fixes its own size, and
the output channel goes up to its last kernel group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from visualiser import catalogue
from visualiser.errors import InputError
from visualiser.render.conv3d.kernels import TEACHING_KERNELS, teaching_kernel
from visualiser.settings import Conv3dSettings
from visualiser.ui.views.arrival import arrival_dir, once
from visualiser.ui.views.cache import PLANS, content_key
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.heavy import conv3d_plans, conv3d_render
from visualiser.ui.views.options import require
from visualiser.ui.views.phrases import say

if TYPE_CHECKING:
    from visualiser.render.conv3d import AnimationPlan


# The tab's controls before anyone moves them (the sliders show these values).
ARRIVAL_SETTINGS = Conv3dSettings(stride_t=1, stride_hw=1, padding_t=0, padding_hw=0, dilation_t=1, dilation_hw=1)


def conv3d_plan(video: str | None, settings: Conv3dSettings) -> AnimationPlan:
    """The animation plan for this clip and these settings (``pipeline.conv3d_plan``, shared by equal inputs)."""
    require(video, "upload a clip, pick an example or send one from the Clip tab")
    check_out_channel(settings)
    return PLANS.get_or_make((content_key(video), settings), lambda: conv3d_plans.conv3d_plan(video, settings))


@dataclass(frozen=True)
class KernelFacts:
    """What the controls must offer for one kernel source: its size (fixed for a model's layer) and groups."""

    kernel_t: int
    kernel_hw: int
    fixed: bool
    groups: int
    size_info: str
    channel_info: str


def kernel_facts(source: str, kernel_t: int = 3, kernel_hw: int = 3, lang: str = "en") -> KernelFacts:
    """The size and the number of output channels of the kernel ``source`` picks (a model is loaded once).

    A teaching kernel is built without torch (the page is built before torch loads); a model's is its first layer.
    """
    size = (int(kernel_t), int(kernel_hw), int(kernel_hw))
    kind, _, name = source.partition(":")
    if kind == "teaching":
        if name not in TEACHING_KERNELS:
            raise InputError(f"unknown teaching kernel {name!r}; choose one of {', '.join(TEACHING_KERNELS)}")
        spec = teaching_kernel(name, in_channels=3, size=size)
    else:
        spec = conv3d_plans.resolve_kernel(source, size).spec
    groups, _, kt, kh, kw = spec.weight.shape
    fixed = source.startswith("model:")
    if fixed:
        size_info = say(lang, "kernel_fixed", source=spec.source, kt=kt, kh=kh, kw=kw)
    else:
        size_info = say(lang, "kernel_free")
    channel_info = (
        say(lang, "out_channel_info", last=groups - 1, groups=groups) if groups > 1 else say(lang, "out_channel_one")
    )
    return KernelFacts(int(kt), int(kh), fixed, int(groups), size_info, channel_info)


def check_out_channel(settings: Conv3dSettings) -> None:
    """Refuse a negative output channel before the plan (the plan checks the upper bound against the kernel)."""
    if int(settings.out_channel) < 0:
        raise InputError(f"the output channel must be 0 or more, not {settings.out_channel}")


def conv3d_outputs(plan: AnimationPlan, lang: str = "en") -> tuple[str, str, str]:
    """The plan's MP4, its output-shape formula and the parameter counts, as the tab shows them."""
    path = conv3d_render.render_mp4(plan, new_output_path("conv3d", ".mp4"), lang=lang)
    formula, params = conv3d_texts(plan, lang)
    return str(path), formula, params


def conv3d_texts(plan: AnimationPlan, lang: str = "en") -> tuple[str, str]:
    """The output-shape formula and the parameter counts of a plan (no video)."""
    in_shape = tuple(plan.grid.shape[1:])
    grid = say(lang, "input_grid", t=in_shape[0], h=in_shape[1], w=in_shape[2])
    formula = grid + "\n" + conv3d_render.shape_formula_text(in_shape, plan.spec)
    counts = conv3d_render.parameter_counts(plan.spec)
    line3, line2 = conv3d_render.parameter_text(plan.spec, say(lang, "params"))
    header = say(lang, "parameters", channels=plan.spec.in_channels, groups=plan.spec.out_channels)
    ratio = say(lang, "ratio", ratio=f"{float(counts['ratio']):.2f}")
    return formula, f"{header}\n\n- {line3}\n- {line2}\n- {ratio}"


def conv3d_animation(
    video: str | None, settings: Conv3dSettings, lang: str = "en"
) -> tuple[str, str, str, AnimationPlan]:
    """The MP4 of the kernel sliding over the clip, the output-shape formula, the parameter counts, the plan.

    The plan goes into the tab's ``gr.State`` (the API leaves it out), so the step scrubber draws from it.
    """
    plan = conv3d_plan(video, settings)
    return (*conv3d_outputs(plan, lang), plan)


def plan_caption(plan: AnimationPlan, source: str, lang: str = "en") -> str:
    """Which animation the views show: the clip, the kernel and the grid it slides over."""
    t, h, w = plan.grid.shape[1:]
    return say(lang, "plan_caption", source=source or say(lang, "clip"), kernel=plan.spec.source, t=t, h=h, w=w)


def conv3d_arrival() -> tuple[str | None, str | None, str | None, str | None, AnimationPlan | None]:
    """The tab on arrival: the default settings over the first real example clip (rendered once per process)."""
    files = catalogue.example_files("clip", embedded_first=False)
    if not files:
        return None, None, None, None, None
    path = str(files[0])

    def make() -> tuple[str, str, str, AnimationPlan]:
        plan = conv3d_plan(path, ARRIVAL_SETTINGS)
        formula, params = conv3d_texts(plan)
        return str(conv3d_render.render_mp4(plan, arrival_dir() / "conv3d.mp4")), formula, params, plan

    done = once("conv3d", make)
    if done is None:
        return path, None, None, None, None
    return (path, *done)


def conv3d_step(plan: AnimationPlan, step: int, lang: str = "en") -> np.ndarray:
    """The animation frame at one step (0-based; cheap: one frame drawn, nothing encoded)."""
    require(plan, "run the animation")
    s = int(step)
    if not 0 <= s < plan.steps:
        raise InputError(f"step must be between 1 and {plan.steps}, not {s + 1}")
    return conv3d_render.frame_at(plan, s, lang=lang)
