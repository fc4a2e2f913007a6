"""Everything an animation needs, computed once: the grid, the true output and the step schedule.

Steps: with N output cells and ``S = min(N, max_steps)`` steps, step ``s`` has filled the first
``⌈(s+1)·N/S⌉`` cells in raster order (t, then h, then w). When N ≤ max_steps that is one cell per
step; otherwise every step fills a batch of about N/S consecutive cells, so every cell is still
filled, and the kernel box and the written-out sum show the last cell of the batch.

Mode ``"2d_vs_3d"`` adds the 2D layer a learner would compare with: the kernel summed over its
temporal taps, applied frame by frame with the same spatial stride, padding and dilation. On a
still clip (all frames equal) the two give the same numbers; on motion they differ, which is the
point of the comparison. Its cells advance on the same step counter (same fraction done).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from visualiser.errors import VisualiserError
from visualiser.render.conv3d.grid import MAX_GRID, prepare_grid
from visualiser.render.conv3d.sliding import conv3d_numpy
from visualiser.render.conv3d.spec import Conv3dSpec

Mode = Literal["3d", "2d_vs_3d"]
Side = Literal["3d", "2d"]


@dataclass(frozen=True, eq=False)
class AnimationPlan:
    """Precomputed data for one animation; frames are drawn from it by :func:`frame_at`.

    Attributes:
        grid: ``(C, T, H, W)`` input cells (normalised if the grid was prepared with mean/std).
        spec: the layer being animated.
        out_channel: which kernel group (output channel) is animated.
        output: ``(T_out, H_out, W_out)`` float32, computed by the numpy sliding window.
        steps: ``min(N, max_steps)`` for N output cells; step s shows the first ⌈(s+1)·N/S⌉ cells filled
            (one cell per step when N ≤ max_steps, else evenly sized batches; see the module docstring).
        mode: ``"3d"`` or ``"2d_vs_3d"``.
        partials: ``(C, T_out, H_out, W_out)`` float64 per-input-channel sums.
        spec_2d, output_2d, partials_2d: the frame-by-frame 2D comparison (mode ``"2d_vs_3d"`` only).
    """

    grid: np.ndarray
    spec: Conv3dSpec
    out_channel: int
    output: np.ndarray
    steps: int
    mode: Mode
    partials: np.ndarray
    spec_2d: Conv3dSpec | None = None
    output_2d: np.ndarray | None = None
    partials_2d: np.ndarray | None = None
    scenes: dict[Any, Any] = field(default_factory=dict, repr=False)  # cache: drawn backgrounds keyed by frame size

    def side(self, side: Side) -> tuple[Conv3dSpec, np.ndarray, np.ndarray]:
        """(spec, output, partials) of one side; the 2D side exists only in mode "2d_vs_3d"."""
        if side == "3d":
            return self.spec, self.output, self.partials
        if self.spec_2d is None or self.output_2d is None or self.partials_2d is None:
            raise VisualiserError('This animation has no 2D side; plan it with mode="2d_vs_3d".')
        return self.spec_2d, self.output_2d, self.partials_2d


@dataclass(frozen=True)
class StepTerms:
    """The sum written on screen at one step.

    Attributes:
        index: output cell (t, h, w).
        window_start: the kernel's first tap (t, h, w) in padded input coordinates.
        partials: one sum per input channel, c = 0..C−1.
        bias: the kernel group's bias (0 when the layer has none).
        total: Σ partials + bias, which equals ``output[index]``.
    """

    index: tuple[int, int, int]
    window_start: tuple[int, int, int]
    partials: tuple[float, ...]
    bias: float
    total: float


def filled_count(n_cells: int, steps: int, step: int) -> int:
    """Cells filled once ``step`` (0-based) is shown: ⌈(step+1)·N/S⌉."""
    return -(-(step + 1) * n_cells // steps)


def temporal_collapse(spec: Conv3dSpec) -> Conv3dSpec:
    """The 2D layer to compare with: the kernel summed over time, kt = 1, same spatial geometry."""
    weight = spec.weight.sum(axis=2, keepdims=True)  # (K, C, 1, kh, kw)
    return Conv3dSpec(
        weight=weight,
        bias=spec.bias,
        stride=(1, spec.stride[1], spec.stride[2]),
        padding=(0, spec.padding[1], spec.padding[2]),
        dilation=(1, spec.dilation[1], spec.dilation[2]),
        source=f"{spec.source} summed over time (2D per frame)",
    )


def plan_animation(
    frames_or_grid: np.ndarray,
    spec: Conv3dSpec,
    out_channel: int = 0,
    cells: tuple[int, int, int] = (8, 16, 16),
    max_steps: int = 240,
    mode: Mode = "3d",
) -> AnimationPlan:
    """Compute the output and schedule for animating ``spec`` over a clip or a prepared grid.

    Args:
        frames_or_grid: a uint8 ``(T, H, W, 3)`` clip (downsampled with :func:`prepare_grid` to
            ``cells``, not normalised) or a floating ``(C, T, H, W)`` grid used as it is.
        spec: the layer; its C must match the grid's channels.
        out_channel: kernel group to animate, 0..K−1.
        cells: grid size for a clip; ignored for a grid.
        max_steps: upper bound on animation steps.
        mode: ``"3d"``, or ``"2d_vs_3d"`` for the side-by-side comparison.
    """
    grid = _as_grid(frames_or_grid, cells)
    if mode not in ("3d", "2d_vs_3d"):
        raise VisualiserError(f'mode must be "3d" or "2d_vs_3d"; got {mode!r}.')
    if grid.shape[0] != spec.in_channels:
        raise VisualiserError(
            f"The kernel expects {spec.in_channels} input channels but the clip grid has {grid.shape[0]}; "
            "only a first-layer kernel can slide over the clip itself."
        )
    if not 0 <= out_channel < spec.out_channels:
        raise VisualiserError(f"out_channel must be between 0 and {spec.out_channels - 1}; got {out_channel}.")
    if int(max_steps) < 1:
        raise VisualiserError(f"max_steps must be at least 1; got {max_steps}.")
    output, partials = conv3d_numpy(grid, spec, out_channel)
    steps = min(output.size, int(max_steps))
    extra: dict[str, Any] = {}
    if mode == "2d_vs_3d":
        spec_2d = temporal_collapse(spec)
        output_2d, partials_2d = conv3d_numpy(grid, spec_2d, out_channel)
        extra = {"spec_2d": spec_2d, "output_2d": output_2d, "partials_2d": partials_2d}
    return AnimationPlan(
        grid=grid, spec=spec, out_channel=out_channel, output=output, steps=steps, mode=mode, partials=partials, **extra
    )


def _as_grid(frames_or_grid: np.ndarray, cells: tuple[int, int, int]) -> np.ndarray:
    """uint8 means a clip to downsample; floating point means a grid that is already prepared."""
    data = np.asarray(frames_or_grid)
    if data.dtype == np.uint8:
        return prepare_grid(data, cells)
    if not np.issubdtype(data.dtype, np.floating) or data.ndim != 4 or 0 in data.shape:
        raise VisualiserError(
            f"Expected a uint8 (T, H, W, 3) clip or a float (C, T, H, W) grid; got {data.dtype} {data.shape}."
        )
    if any(n > limit for n, limit in zip(data.shape[1:], MAX_GRID, strict=True)):
        raise VisualiserError(f"A {data.shape[1:]} grid is too fine to animate; the limit is {MAX_GRID}.")
    if not np.all(np.isfinite(data)):
        raise VisualiserError("The grid contains NaN or infinite values.")
    return data.astype(np.float32)


def step_terms(plan: AnimationPlan, step: int, side: Side = "3d") -> StepTerms:
    """The output cell shown at ``step`` and the terms of its sum (per-channel partials, bias, total)."""
    spec, output, partials = plan.side(side)
    index = current_cell(plan, step, side)
    bias = 0.0 if spec.bias is None else float(spec.bias[plan.out_channel])
    parts = tuple(float(v) for v in partials[(slice(None), *index)])
    start = tuple(i * s for i, s in zip(index, spec.stride, strict=True))
    return StepTerms(index=index, window_start=start, partials=parts, bias=bias, total=float(output[index]))  # type: ignore[arg-type]


def current_cell(plan: AnimationPlan, step: int, side: Side = "3d") -> tuple[int, int, int]:
    """Output cell (t, h, w) the kernel sits on at ``step``: the last cell filled so far."""
    if not 0 <= step < plan.steps:
        raise VisualiserError(f"step must be between 0 and {plan.steps - 1}; got {step}.")
    _, output, _ = plan.side(side)
    flat = filled_count(output.size, plan.steps, step) - 1
    t, h, w = np.unravel_index(flat, output.shape)
    return int(t), int(h), int(w)
