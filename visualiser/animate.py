"""Glue for the 3D-convolution view: pick a kernel, prepare the clip's cell grid, plan, render.

Kernel sources: ``teaching:<name>`` (a hand-made kernel whose effect is easy to read) or
``model:<registry name>`` (the first ``Conv3d`` of a clip model, with its real stride and padding;
the grid is then normalised with that model's mean/std, as the layer expects).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visualiser.errors import InputError, VisualiserError
from visualiser.media import load_clip
from visualiser.render.conv3d import (
    TEACHING_KERNELS,
    AnimationPlan,
    Conv3dSpec,
    kernel_from_conv3d,
    plan_animation,
    prepare_grid,
    render_gif,
    render_mp4,
    teaching_kernel,
)


@dataclass(frozen=True)
class KernelChoice:
    """A kernel and the input normalisation it expects (None: the [0, 1] grid)."""

    spec: Conv3dSpec
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None


def kernel_sources() -> list[str]:
    """Every kernel source the UI and CLI offer: teaching kernels, then clip models' first layers."""
    from visualiser.models.registry import list_specs

    return [f"teaching:{name}" for name in TEACHING_KERNELS] + [f"model:{s.name}" for s in list_specs("clip")]


def resolve_kernel(
    source: str,
    kernel_size: tuple[int, int, int] = (3, 3, 3),
    stride: tuple[int, int, int] | None = None,
    padding: tuple[int, int, int] | None = None,
    dilation: tuple[int, int, int] | None = None,
) -> KernelChoice:
    """Turn a kernel-source string into a spec; stride / padding / dilation override the layer's own."""
    kind, _, name = source.partition(":")
    if kind == "teaching":
        if name not in TEACHING_KERNELS:
            raise InputError(f"unknown teaching kernel {name!r}; choose one of {', '.join(TEACHING_KERNELS)}")
        spec = teaching_kernel(name, in_channels=3, size=kernel_size)
        return KernelChoice(_with_geometry(spec, stride, padding, dilation))
    if kind == "model":
        from visualiser.pipeline import get_model

        loaded = get_model(name)
        first = _first_conv3d(loaded.model)
        spec = kernel_from_conv3d(first, source=f"{loaded.spec.title}: first Conv3d")
        pre = loaded.spec.preprocess
        return KernelChoice(_with_geometry(spec, stride, padding, dilation), pre.mean, pre.std)
    raise InputError(f"kernel source must be 'teaching:<name>' or 'model:<name>', not {source!r}")


def _first_conv3d(model: object) -> object:
    import torch

    for module in model.modules():  # type: ignore[attr-defined]
        if isinstance(module, torch.nn.Conv3d):
            return module
    raise VisualiserError("this model has no Conv3d layer to animate")


def _with_geometry(
    spec: Conv3dSpec,
    stride: tuple[int, int, int] | None,
    padding: tuple[int, int, int] | None,
    dilation: tuple[int, int, int] | None,
) -> Conv3dSpec:
    return Conv3dSpec(
        weight=spec.weight,
        bias=spec.bias,
        stride=stride or spec.stride,
        padding=padding if padding is not None else spec.padding,
        dilation=dilation or spec.dilation,
        source=spec.source,
    )


def plan_for_clip(
    frames: np.ndarray,
    choice: KernelChoice,
    out_channel: int = 0,
    cells: tuple[int, int, int] = (8, 16, 16),
    mode: str = "3d",
    max_steps: int = 240,
) -> AnimationPlan:
    """Downsample the clip to the cell grid (normalised for real kernels) and plan the animation."""
    grid = prepare_grid(frames, cells, choice.mean, choice.std)
    return plan_animation(grid, choice.spec, out_channel=out_channel, mode=mode, max_steps=max_steps)  # type: ignore[arg-type]


def animate_clip(
    clip: str | os.PathLike | np.ndarray,
    out: str | os.PathLike,
    kernel: str = "teaching:temporal_difference",
    out_channel: int = 0,
    mode: str = "3d",
    gif: bool = False,
    cells: tuple[int, int, int] = (8, 16, 16),
) -> list[Path]:
    """Write the MP4 (and optionally a GIF beside it) of the kernel sliding over the clip."""
    frames = clip if isinstance(clip, np.ndarray) else load_clip(clip, num_frames=cells[0]).frames
    plan = plan_for_clip(frames, resolve_kernel(kernel), out_channel=out_channel, cells=cells, mode=mode)
    out_path = Path(out)
    if out_path.name in ("", ".", ".."):
        raise InputError(f"the output must be a file name such as conv3d.mp4, not {str(out)!r}")
    if out_path.suffix.lower() != ".mp4":
        out_path = out_path.with_suffix(".mp4")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    written = [render_mp4(plan, out_path)]
    if gif:
        written.append(render_gif(plan, out_path.with_suffix(".gif")))
    return written
