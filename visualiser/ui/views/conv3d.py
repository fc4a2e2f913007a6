"""3D-convolution tab: the plan from the pipeline's one orchestrator, its MP4 and single frames for the scrubber."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from visualiser.errors import InputError
from visualiser.ui.views.cache import PLANS, content_key
from visualiser.ui.views.files import new_output_path
from visualiser.ui.views.options import require

if TYPE_CHECKING:
    from visualiser.render.conv3d import AnimationPlan
    from visualiser.settings import Conv3dSettings


def conv3d_plan(video: str | None, settings: Conv3dSettings) -> AnimationPlan:
    """The animation plan for this clip and these settings (``pipeline.conv3d_plan``, shared by equal inputs)."""
    from visualiser.pipeline.conv3d import conv3d_plan as plan

    require(video, "upload a clip, pick an example or send one from the Clip tab")
    return PLANS.get_or_make((content_key(video), settings.key()), lambda: plan(video, settings))


def conv3d_outputs(plan: AnimationPlan) -> tuple[str, str, str]:
    """The plan's MP4, its output-shape formula and the parameter counts, as the tab shows them."""
    from visualiser.render.conv3d import parameter_counts, parameter_text, render_mp4, shape_formula_text

    path = render_mp4(plan, new_output_path("conv3d", ".mp4"))
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
    return str(path), formula, params


def conv3d_animation(video: str | None, settings: Conv3dSettings) -> tuple[str, str, str]:
    """The MP4 of the kernel sliding over the clip, the output-shape formula and the parameter counts."""
    return conv3d_outputs(conv3d_plan(video, settings))


def conv3d_step(plan: AnimationPlan, step: int) -> np.ndarray:
    """The animation frame at one step (cheap: one frame drawn, nothing encoded)."""
    from visualiser.render.conv3d import frame_at

    require(plan, "run the animation")
    s = int(step)
    if not 0 <= s < plan.steps:
        raise InputError(f"step must be between 0 and {plan.steps - 1}, not {s}")
    return frame_at(plan, s)
