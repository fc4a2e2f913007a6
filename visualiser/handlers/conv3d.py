"""3D-convolution tab: kernel sources, the animation plan, the MP4 and single frames for the step scrubber."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from visualiser.errors import InputError
from visualiser.handlers.common import PLANS, content_key, new_output_path, require

if TYPE_CHECKING:
    from visualiser.render.conv3d import AnimationPlan


def kernel_choices() -> list[tuple[str, str]]:
    """Teaching kernels, then the first Conv3d of every clip model whose weights are on this machine."""
    from visualiser.animate import kernel_sources
    from visualiser.models.registry import get_spec
    from visualiser.models.weights import weights_available

    out = []
    for source in kernel_sources():
        kind, _, name = source.partition(":")
        if kind == "teaching":
            out.append((f"teaching kernel: {name.replace('_', ' ')}", source))
        elif weights_available(get_spec(name)):
            out.append((f"{get_spec(name).title}: first Conv3d layer", source))
    return out


@dataclass(frozen=True)
class Conv3dSettings:
    """What the 3D-convolution tab's controls choose."""

    kernel: str = "teaching:temporal_difference"
    kernel_t: int = 3
    kernel_hw: int = 3
    stride_t: int = 1
    stride_hw: int = 1
    padding_t: int = 0
    padding_hw: int = 0
    dilation_t: int = 1
    dilation_hw: int = 1
    out_channel: int = 0
    mode: str = "3d"

    def key(self) -> tuple:
        return tuple(getattr(self, f.name) for f in fields(self))


def conv3d_plan(video: str | None, settings: Conv3dSettings) -> AnimationPlan:
    """The animation plan for this clip and these settings (cached; cheap numpy either way)."""
    from visualiser.animate import plan_for_clip, resolve_kernel
    from visualiser.media import load_clip

    require(video, "upload a clip, pick an example or send one from the Clip tab")
    if settings.mode not in ("3d", "2d_vs_3d"):
        raise InputError(f"mode must be '3d' or '2d_vs_3d', not {settings.mode!r}")

    def make() -> Any:
        choice = resolve_kernel(
            settings.kernel,
            kernel_size=(int(settings.kernel_t), int(settings.kernel_hw), int(settings.kernel_hw)),
            stride=(int(settings.stride_t), int(settings.stride_hw), int(settings.stride_hw)),
            padding=(int(settings.padding_t), int(settings.padding_hw), int(settings.padding_hw)),
            dilation=(int(settings.dilation_t), int(settings.dilation_hw), int(settings.dilation_hw)),
        )
        frames = load_clip(video, num_frames=8).frames
        return plan_for_clip(frames, choice, out_channel=int(settings.out_channel), mode=settings.mode)

    return PLANS.get_or_make((content_key(video), settings.key()), make)


def conv3d_animation(video: str | None, settings: Conv3dSettings) -> tuple[str, str, str]:
    """The MP4 of the kernel sliding over the clip, the output-shape formula and the parameter counts."""
    from visualiser.render.conv3d import parameter_counts, parameter_text, render_mp4, shape_formula_text

    plan = conv3d_plan(video, settings)
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


def conv3d_step(plan: AnimationPlan, step: int) -> np.ndarray:
    """The animation frame at one step (cheap: one frame drawn, nothing encoded)."""
    from visualiser.render.conv3d import frame_at

    require(plan, "run the animation")
    s = int(step)
    if not 0 <= s < plan.steps:
        raise InputError(f"step must be between 0 and {plan.steps - 1}, not {s}")
    return frame_at(plan, s)
