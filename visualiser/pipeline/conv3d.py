"""The 3D-convolution animation's one orchestrator: clip → cell grid → kernel → plan (both front ends call it).

Kernel sources: ``teaching:<name>`` (a hand-made kernel whose effect is easy to read) or ``model:<registry
name>`` (the first ``Conv3d`` of a clip model, with its real stride and padding; the grid is then
normalised with that model's mean/std, as the layer expects). A real layer's weights become numpy here,
so the renderers never see torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from visualiser.errors import InputError, VisualiserError
from visualiser.media import Clip, load_clip
from visualiser.pipeline.models import get_model
from visualiser.render.conv3d import (
    TEACHING_KERNELS,
    AnimationPlan,
    Conv3dSpec,
    plan_animation,
    prepare_grid,
    render_gif,
    render_mp4,
    teaching_kernel,
)
from visualiser.settings import AnimationMode, Conv3dSettings

Triple = tuple[int, int, int]
GRID_CELLS: Triple = (8, 16, 16)  # T×H×W cells the clip is reduced to: large enough to see, small enough to draw
MAX_STEPS = 240


@dataclass(frozen=True)
class KernelChoice:
    """A kernel and the input normalisation it expects (None: the [0, 1] grid)."""

    spec: Conv3dSpec
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None


def kernel_from_conv3d(module: nn.Module, source: str = "") -> Conv3dSpec:
    """A ``torch.nn.Conv3d``'s own weight, bias, stride, padding and dilation, as numpy.

    Grouped convolutions, non-zero padding modes and uneven ``padding="same"`` are refused: the animation
    draws one zero-padded window over every input channel.
    """
    if not isinstance(module, nn.Conv3d):
        raise VisualiserError(f"Expected a torch.nn.Conv3d layer; got {type(module).__name__}.")
    if module.groups != 1:
        raise VisualiserError(f"Grouped 3D convolutions (groups={module.groups}) cannot be animated; use groups=1.")
    if module.padding_mode != "zeros":
        raise VisualiserError(f"Only zero padding can be animated; this layer uses '{module.padding_mode}'.")
    weight = module.weight.detach().cpu().numpy()
    bias = None if module.bias is None else module.bias.detach().cpu().numpy()
    dilation: Triple = tuple(int(d) for d in module.dilation)  # type: ignore[assignment]
    return Conv3dSpec(
        weight=weight,
        bias=bias,
        stride=tuple(int(s) for s in module.stride),  # type: ignore[arg-type]
        padding=_symmetric_padding(module.padding, weight.shape[2:], dilation),
        dilation=dilation,
        source=source or "Conv3d layer",
    )


def _symmetric_padding(padding: str | tuple[int, ...], kernel: tuple[int, ...], dilation: Triple) -> Triple:
    """Torch's padding (ints, 'valid' or 'same') as symmetric per-axis padding."""
    if padding == "valid":
        return (0, 0, 0)
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        if any(total % 2 for total in totals):
            raise VisualiserError("padding='same' with an even kernel extent pads unevenly and cannot be animated.")
        return (totals[0] // 2, totals[1] // 2, totals[2] // 2)
    t, h, w = (int(p) for p in padding)
    return (t, h, w)


def first_conv3d(model: nn.Module) -> nn.Conv3d:
    """The network's first ``Conv3d`` (its stem), the layer the animation shows for a model source."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            return module
    raise VisualiserError("this model has no Conv3d layer to animate")


def resolve_kernel(source: str, kernel_size: Triple = (3, 3, 3)) -> KernelChoice:
    """Turn a kernel-source string into a spec with its own geometry (a model's layer keeps its stride/padding)."""
    kind, _, name = source.partition(":")
    if kind == "teaching":
        if name not in TEACHING_KERNELS:
            raise InputError(f"unknown teaching kernel {name!r}; choose one of {', '.join(TEACHING_KERNELS)}")
        return KernelChoice(teaching_kernel(name, in_channels=3, size=kernel_size))
    if kind == "model":
        loaded = get_model(name)
        spec = kernel_from_conv3d(first_conv3d(loaded.model), source=f"{loaded.spec.title}: first Conv3d")
        pre = loaded.spec.preprocess
        return KernelChoice(spec, pre.mean, pre.std)
    raise InputError(f"kernel source must be 'teaching:<name>' or 'model:<name>', not {source!r}")


def _axes(own: Triple, t: int | None, hw: int | None) -> Triple:
    """(t, h, w): the time value and the shared height/width value where set, the layer's own elsewhere."""
    return (own[0] if t is None else int(t), own[1] if hw is None else int(hw), own[2] if hw is None else int(hw))


def with_settings_geometry(spec: Conv3dSpec, settings: Conv3dSettings) -> Conv3dSpec:
    """The spec with the stride, padding and dilation the settings choose (unset values keep the spec's own)."""
    return Conv3dSpec(
        weight=spec.weight,
        bias=spec.bias,
        stride=_axes(spec.stride, settings.stride_t, settings.stride_hw),
        padding=_axes(spec.padding, settings.padding_t, settings.padding_hw),
        dilation=_axes(spec.dilation, settings.dilation_t, settings.dilation_hw),
        source=spec.source,
    )


def plan_for_frames(
    frames: np.ndarray,
    choice: KernelChoice,
    out_channel: int = 0,
    cells: Triple = GRID_CELLS,
    mode: AnimationMode = "3d",
    max_steps: int = MAX_STEPS,
) -> AnimationPlan:
    """Downsample the frames to the cell grid (normalised for real kernels) and plan the animation."""
    grid = prepare_grid(frames, cells, choice.mean, choice.std)
    return plan_animation(grid, choice.spec, out_channel=out_channel, mode=mode, max_steps=max_steps)


def conv3d_plan(
    clip: str | os.PathLike | np.ndarray | Clip, settings: Conv3dSettings, cells: Triple = GRID_CELLS
) -> AnimationPlan:
    """The animation plan for this clip and these settings: decode, pick the kernel, slide it (numpy)."""
    if settings.mode not in ("3d", "2d_vs_3d"):
        raise InputError(f"mode must be '3d' or '2d_vs_3d', not {settings.mode!r}")
    own = resolve_kernel(settings.kernel, (int(settings.kernel_t), int(settings.kernel_hw), int(settings.kernel_hw)))
    choice = KernelChoice(with_settings_geometry(own.spec, settings), own.mean, own.std)
    if isinstance(clip, np.ndarray):
        frames = clip
    elif isinstance(clip, Clip):
        frames = clip.frames
    else:
        frames = load_clip(clip, num_frames=cells[0]).frames
    return plan_for_frames(frames, choice, out_channel=int(settings.out_channel), cells=cells, mode=settings.mode)


def animate_clip(
    clip: str | os.PathLike | np.ndarray,
    out: str | os.PathLike,
    settings: Conv3dSettings | None = None,
    gif: bool = False,
) -> list[Path]:
    """Write the MP4 (and optionally a GIF beside it) of the kernel sliding over the clip."""
    out_path = Path(out)
    if out_path.name in ("", ".", ".."):
        raise InputError(f"the output must be a file name such as conv3d.mp4, not {str(out)!r}")
    plan = conv3d_plan(clip, settings or Conv3dSettings())
    if out_path.suffix.lower() != ".mp4":
        out_path = out_path.with_suffix(".mp4")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written = [render_mp4(plan, out_path)]
    if gif:
        written.append(render_gif(plan, out_path.with_suffix(".gif")))
    return written
