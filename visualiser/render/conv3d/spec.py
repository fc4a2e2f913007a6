"""The one description of a 3D convolution the animation needs (weights plus geometry), its arithmetic,
and the convolution itself.

``Conv3dSpec`` holds numpy arrays only, so the animation never touches torch; a real layer is turned into one
by ``visualiser.pipeline.conv3d.kernel_from_conv3d``. Validation happens here, at the edge, so that everything
downstream can trust the shapes. The output shape is torch's formula (``torch.nn.Conv3d`` docs), per axis
``out = ⌊(n + 2·p − d·(k − 1) − 1) / s⌋ + 1``, as numbers and as the text shown on screen. The convolution is
written with numpy as the sliding window the animation draws (pad, take every window, keep every d-th tap, step
by s), so the numbers on screen come from the same index arithmetic as the kernel box; the tests check it
against ``torch.nn.functional.conv3d``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from visualiser.errors import VisualiserError

Triple = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class Conv3dSpec:
    """Weights and geometry of one ``Conv3d`` layer.

    Attributes:
        weight: ``(K, C, kt, kh, kw)`` float32, K kernel groups of C kernels each (the seed tutorial's wording).
        bias: ``(K,)`` float32 or None.
        stride: per axis (t, h, w).
        padding: zero padding per axis (t, h, w), applied on both sides as ``torch.nn.Conv3d`` does.
        dilation: per axis (t, h, w).
        source: human label shown in the animation, e.g. ``"r3d_18 stem"``.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    stride: Triple = (1, 1, 1)
    padding: Triple = (0, 0, 0)
    dilation: Triple = (1, 1, 1)
    source: str = "teaching:temporal_difference"

    def __post_init__(self) -> None:
        weight = np.asarray(self.weight, dtype=np.float32)
        if weight.ndim != 5 or 0 in weight.shape:
            raise VisualiserError(
                f"A 3D convolution weight must have shape (K, C, kt, kh, kw) with no empty axis; got {weight.shape}."
            )
        if not np.all(np.isfinite(weight)):
            raise VisualiserError("The 3D convolution weight contains NaN or infinite values.")
        object.__setattr__(self, "weight", weight)
        if self.bias is not None:
            bias = np.asarray(self.bias, dtype=np.float32).reshape(-1)
            if bias.shape != (weight.shape[0],):
                raise VisualiserError(
                    f"The bias must have one value per kernel group ({weight.shape[0]}); got shape {bias.shape}."
                )
            object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "stride", _triple(self.stride, "stride", minimum=1))
        object.__setattr__(self, "padding", _triple(self.padding, "padding", minimum=0))
        object.__setattr__(self, "dilation", _triple(self.dilation, "dilation", minimum=1))

    @property
    def out_channels(self) -> int:
        """K, the number of kernel groups (= output channels)."""
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        """C, the number of kernels in each group (= input channels)."""
        return int(self.weight.shape[1])

    @property
    def kernel_size(self) -> Triple:
        """(kt, kh, kw)."""
        kt, kh, kw = self.weight.shape[2:]
        return int(kt), int(kh), int(kw)

    @property
    def extent(self) -> Triple:
        """Cells one kernel spans per axis once dilation spreads its taps: d·(k−1) + 1."""
        return tuple(d * (k - 1) + 1 for d, k in zip(self.dilation, self.kernel_size, strict=True))  # type: ignore[return-value]


def _triple(value: int | Sequence[int], name: str, minimum: int) -> Triple:
    """Accept an int or three ints, as torch does, and reject values torch would reject."""
    items = (value, value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(items) != 3:
        raise VisualiserError(f"The {name} must be one integer or three (t, h, w); got {value!r}.")
    try:
        ints = tuple(int(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise VisualiserError(f"The {name} must be integers; got {value!r}.") from exc
    if any(v < minimum for v in ints):
        raise VisualiserError(f"Every {name} value must be at least {minimum}; got {ints}.")
    return ints  # type: ignore[return-value]


AXES = ("T", "H", "W")


def output_shape(in_shape: Sequence[int], spec: Conv3dSpec) -> tuple[int, int, int]:
    """Output (T_out, H_out, W_out) for an input of (T, H, W); raises if the kernel does not fit."""
    dims = tuple(int(v) for v in in_shape)
    if len(dims) != 3 or min(dims) < 1:
        raise VisualiserError(f"The input shape must be three positive sizes (T, H, W); got {tuple(in_shape)}.")
    out = []
    for axis, n, k, s, p, d in zip(AXES, dims, spec.kernel_size, spec.stride, spec.padding, spec.dilation, strict=True):
        span = d * (k - 1) + 1
        if span > n + 2 * p:
            raise VisualiserError(
                f"The kernel spans {span} cells along {axis} (k={k}, dilation={d}) but the padded input has only "
                f"{n + 2 * p} ({n} + 2·{p}); use a smaller kernel or dilation, or more padding."
            )
        out.append((n + 2 * p - span) // s + 1)
    return out[0], out[1], out[2]


def shape_formula_text(in_shape: Sequence[int], spec: Conv3dSpec) -> str:
    """Three lines, one per axis, e.g. ``T_out = ⌊(8 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 6``."""
    result = output_shape(in_shape, spec)
    lines = []
    for axis, n, k, s, p, d, o in zip(
        AXES, in_shape, spec.kernel_size, spec.stride, spec.padding, spec.dilation, result, strict=True
    ):
        lines.append(f"{axis}_out = ⌊({n} + 2·{p} − {d}·({k}−1) − 1)/{s}⌋ + 1 = {o}")
    return "\n".join(lines)


def parameter_counts(spec: Conv3dSpec) -> dict[str, int | float]:
    """Learnable parameters of the layer and of the 2D layer with the same C, K, kh and kw.

    Keys: ``conv3d_weights`` (C·kt·kh·kw·K), ``conv3d_bias``, ``conv3d_total``, the same three for
    ``conv2d`` (C·kh·kw·K), and ``ratio`` = conv3d_total / conv2d_total.
    """
    k_out, c_in = spec.out_channels, spec.in_channels
    kt, kh, kw = spec.kernel_size
    bias = k_out if spec.bias is not None else 0
    w3, w2 = c_in * kt * kh * kw * k_out, c_in * kh * kw * k_out
    return {
        "conv3d_weights": w3,
        "conv3d_bias": bias,
        "conv3d_total": w3 + bias,
        "conv2d_weights": w2,
        "conv2d_bias": bias,
        "conv2d_total": w2 + bias,
        "ratio": (w3 + bias) / (w2 + bias),
    }


def parameter_text(spec: Conv3dSpec, params: str = "params") -> tuple[str, str]:
    """The two lines shown on screen, e.g. ``3D: 3·3·3·3·1 + 1 = 82 params`` and ``2D: 3·3·3·1 + 1 = 28 params``.

    ``params`` is the unit word in the reader's language.
    """
    counts = parameter_counts(spec)
    kt, kh, kw = spec.kernel_size
    c_in, k_out = spec.in_channels, spec.out_channels
    bias = f" + {k_out}" if spec.bias is not None else ""
    line3 = f"3D: {c_in}·{kt}·{kh}·{kw}·{k_out}{bias} = {counts['conv3d_total']:,} {params}"
    line2 = f"2D: {c_in}·{kh}·{kw}·{k_out}{bias} = {counts['conv2d_total']:,} {params}"
    return line3, line2


def pad_grid(grid: np.ndarray, padding: tuple[int, int, int]) -> np.ndarray:
    """Zero-pad a ``(C, T, H, W)`` grid on both sides of t, h and w."""
    pt, ph, pw = padding
    return np.pad(grid, ((0, 0), (pt, pt), (ph, ph), (pw, pw)))


def channel_partials(grid: np.ndarray, spec: Conv3dSpec, out_channel: int) -> np.ndarray:
    """Per-input-channel sums ``Σ_{dt,dh,dw} w[k,c]·x[c]`` for every output cell: ``(C, T_out, H_out, W_out)``.

    Their sum over C plus the bias is the layer output for kernel group ``out_channel``; keeping
    them apart is what lets the animation write the seed's "C results summed (+ bias)".
    """
    t_out, h_out, w_out = output_shape(grid.shape[1:], spec)
    padded = pad_grid(grid.astype(np.float64), spec.padding)  # (C, Tp, Hp, Wp)
    windows = np.lib.stride_tricks.sliding_window_view(padded, spec.extent, axis=(1, 2, 3))
    st, sh, sw = spec.stride
    dt, dh, dw = spec.dilation
    # (C, T_out, H_out, W_out, kt, kh, kw): one window per output cell, only the dilated taps
    taps = windows[:, ::st, ::sh, ::sw, ::dt, ::dh, ::dw][:, :t_out, :h_out, :w_out]
    kernel = spec.weight[out_channel].astype(np.float64)  # (C, kt, kh, kw)
    return np.einsum("cthwijk,cijk->cthw", taps, kernel, optimize=True)


def conv3d_numpy(grid: np.ndarray, spec: Conv3dSpec, out_channel: int) -> tuple[np.ndarray, np.ndarray]:
    """Output ``(T_out, H_out, W_out)`` float32 for one kernel group, plus the float64 per-channel partials."""
    partials = channel_partials(grid, spec, out_channel)
    bias = 0.0 if spec.bias is None else float(spec.bias[out_channel])
    return (partials.sum(axis=0) + bias).astype(np.float32), partials
