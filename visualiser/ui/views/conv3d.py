"""3D-convolution tab: the plan from the pipeline's one orchestrator, its MP4 and single frames for the scrubber."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from visualiser.errors import InputError
from visualiser.settings import Conv3dSettings
from visualiser.ui.views.cache import PLANS, content_key
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.options import require

if TYPE_CHECKING:
    from visualiser.render.conv3d import AnimationPlan


# The tab's controls before anyone moves them (the sliders show these values).
ARRIVAL_SETTINGS = Conv3dSettings(stride_t=1, stride_hw=1, padding_t=0, padding_hw=0, dilation_t=1, dilation_hw=1)


def conv3d_plan(video: str | None, settings: Conv3dSettings) -> AnimationPlan:
    """The animation plan for this clip and these settings (``pipeline.conv3d_plan``, shared by equal inputs)."""
    from visualiser.pipeline.conv3d import conv3d_plan as plan

    require(video, "upload a clip, pick an example or send one from the Clip tab")
    return PLANS.get_or_make((content_key(video), settings), lambda: plan(video, settings))


def conv3d_outputs(plan: AnimationPlan) -> tuple[str, str, str]:
    """The plan's MP4, its output-shape formula and the parameter counts, as the tab shows them."""
    from visualiser.render.conv3d import render_mp4

    path = render_mp4(plan, new_output_path("conv3d", ".mp4"))
    formula, params = conv3d_texts(plan)
    return str(path), formula, params


def conv3d_texts(plan: AnimationPlan) -> tuple[str, str]:
    """The output-shape formula and the parameter counts of a plan (no video)."""
    from visualiser.render.conv3d import parameter_counts, parameter_text, shape_formula_text

    in_shape = tuple(plan.grid.shape[1:])
    formula = f"input grid T×H×W = {in_shape[0]}×{in_shape[1]}×{in_shape[2]}\n" + shape_formula_text(
        in_shape, plan.spec
    )
    counts = parameter_counts(plan.spec)
    line3, line2 = parameter_text(plan.spec)
    params = (
        f"**Parameters** of this layer (C = {plan.spec.in_channels} input channels, K = {plan.spec.out_channels} "
        f"kernel groups)\n\n- {line3}\n- {line2}\n- ratio 3D / 2D = {float(counts['ratio']):.2f}"
    )
    return formula, params


def conv3d_animation(video: str | None, settings: Conv3dSettings) -> tuple[str, str, str, AnimationPlan]:
    """The MP4 of the kernel sliding over the clip, the output-shape formula, the parameter counts, the plan.

    The plan goes into the tab's ``gr.State`` (the API leaves it out), so the step scrubber draws from it.
    """
    plan = conv3d_plan(video, settings)
    return (*conv3d_outputs(plan), plan)


def plan_caption(plan: AnimationPlan, source: str) -> str:
    """Which animation the views show: the clip, the kernel and the grid it slides over."""
    t, h, w = plan.grid.shape[1:]
    return f"{source or 'clip'} · {plan.spec.source} · {t}×{h}×{w} cells"


def conv3d_arrival() -> tuple[str | None, str | None, str | None, str | None, AnimationPlan | None]:
    """The tab on arrival: the default settings over the first real example clip (rendered once per process)."""
    from visualiser import catalogue
    from visualiser.ui.views.arrival import arrival_dir, once

    files = catalogue.example_files("clip", embedded_first=False)
    if not files:
        return None, None, None, None, None
    path = str(files[0])

    def make() -> tuple[str, str, str, AnimationPlan]:
        from visualiser.render.conv3d import render_mp4

        plan = conv3d_plan(path, ARRIVAL_SETTINGS)
        formula, params = conv3d_texts(plan)
        return str(render_mp4(plan, arrival_dir() / "conv3d.mp4")), formula, params, plan

    done = once("conv3d", make)
    if done is None:
        return path, None, None, None, None
    return (path, *done)


def conv3d_step(plan: AnimationPlan, step: int) -> np.ndarray:
    """The animation frame at one step (cheap: one frame drawn, nothing encoded)."""
    from visualiser.render.conv3d import frame_at

    require(plan, "run the animation")
    s = int(step)
    if not 0 <= s < plan.steps:
        raise InputError(f"step must be between 0 and {plan.steps - 1}, not {s}")
    return frame_at(plan, s)
