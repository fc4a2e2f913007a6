"""Everything an animation needs, computed once: the grid, the true output and the step schedule.

The grid: a 3×3×3 kernel on a 224×224 clip would need ~400k animation steps; on an 8×16×16 grid it needs a
few hundred, and every cell is big enough to see. The grid keeps the clip's real content: frames are sampled
evenly in time and each cell is the exact area average of the pixels it covers.

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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from visualiser.errors import InputError, VisualiserError
from visualiser.render.conv3d.spec import Conv3dSpec, conv3d_numpy

MAX_GRID = (32, 64, 64)  # beyond this the cells get too small to draw at 640×360


def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights averaging each output cell's share of the input, fractional edges included."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    starts, ends = edges[:-1, None], edges[1:, None]
    pixels = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(ends, pixels + 1) - np.maximum(starts, pixels), 0.0, None)  # (n_out, n_in)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


def prepare_grid(
    frames: np.ndarray,
    cells: Sequence[int] = (8, 16, 16),
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> np.ndarray:
    """Downsample a ``(T, H, W, 3)`` uint8 clip to a ``(3, T', H', W')`` float32 grid.

    Time: ``T' = min(T, cells[0])`` frames picked evenly (first and last included); a clip is
    never stretched in time. Space: area averaging to ``cells[1] × cells[2]`` (the aspect ratio
    is not kept: cells are a teaching grid, not a picture). Values are scaled to [0, 1]; when
    ``mean`` and ``std`` are given (per RGB channel, on that [0, 1] scale) the grid is normalised
    as ``(x − mean) / std``, which is what a pretrained layer's weights expect to see.
    """
    clip = np.asarray(frames)
    if clip.ndim == 3 and clip.shape[-1] == 3:
        clip = clip[None]  # a single image is a one-frame clip
    if clip.ndim != 4 or clip.shape[-1] != 3 or 0 in clip.shape:
        raise InputError(f"Expected a clip of shape (T, H, W, 3); got {clip.shape}.")
    if clip.dtype != np.uint8:
        raise InputError(f"Expected uint8 frames (0–255); got {clip.dtype}.")
    t_cells, h_cells, w_cells = _cells(cells)
    n_frames, height, width = clip.shape[:3]
    if h_cells > height or w_cells > width:
        raise InputError(f"The clip ({height}×{width} px) is smaller than the requested {h_cells}×{w_cells} cell grid.")
    picks = np.round(np.linspace(0, n_frames - 1, min(n_frames, t_cells))).astype(int)
    rows, cols = area_matrix(height, h_cells), area_matrix(width, w_cells)
    grid = np.empty((3, len(picks), h_cells, w_cells), np.float32)  # (C, T', H', W')
    for slot, frame_index in enumerate(picks):
        frame = clip[frame_index].astype(np.float32) / 255.0  # (H, W, 3)
        pooled = np.einsum("ih,hwc,jw->cij", rows, frame, cols, optimize=True)  # (3, H', W')
        grid[:, slot] = pooled
    if (mean is None) != (std is None):
        raise VisualiserError("Give both mean and std to normalise the grid, or neither.")
    if mean is not None and std is not None:
        mean_arr = np.asarray(mean, np.float32).reshape(3, 1, 1, 1)
        std_arr = np.asarray(std, np.float32).reshape(3, 1, 1, 1)
        if np.any(std_arr <= 0):
            raise VisualiserError(f"Every std value must be positive; got {list(np.ravel(std_arr))}.")
        grid = (grid - mean_arr) / std_arr
    return grid.astype(np.float32)


def _cells(cells: Sequence[int]) -> tuple[int, int, int]:
    """Validate the requested grid size against what can be drawn legibly."""
    dims = tuple(int(v) for v in cells)
    if len(dims) != 3 or min(dims) < 1:
        raise VisualiserError(f"cells must be three positive integers (T, H, W); got {tuple(cells)}.")
    if any(d > limit for d, limit in zip(dims, MAX_GRID, strict=True)):
        raise VisualiserError(f"A {dims} cell grid is too fine to animate; the limit is {MAX_GRID}.")
    return dims  # type: ignore[return-value]


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
