"""Shape and parameter arithmetic of a 3D convolution, as numbers and as the text shown on screen.

The formula is torch's (``torch.nn.Conv3d`` docs): per axis
``out = ⌊(n + 2·p − d·(k − 1) − 1) / s⌋ + 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

from visualiser.errors import VisualiserError
from visualiser.render.conv3d.spec import Conv3dSpec

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
