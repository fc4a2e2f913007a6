"""The convolution itself, written as the sliding window the animation draws.

Computed with numpy (not torch) so that the numbers on screen come from the same index
arithmetic as the kernel box: pad, take every window, keep every d-th tap, step by s.
The tests check it against ``torch.nn.functional.conv3d``.
"""

from __future__ import annotations

import numpy as np

from visualiser.render.conv3d.arithmetic import output_shape
from visualiser.render.conv3d.spec import Conv3dSpec


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
