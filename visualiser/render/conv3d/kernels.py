"""Hand-made 3D kernels whose effect a learner can predict before watching them slide.

Each kernel is one kernel group (K = 1) of C identical per-channel kernels scaled by 1/C, so the
output is "the same filter on the channel mean". A zero bias is included so the parameter count
and the sum on screen show the ``+ b`` term, as in a real layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from visualiser.errors import VisualiserError
from visualiser.render.conv3d.spec import Conv3dSpec

TEACHING_KERNELS: tuple[str, ...] = ("temporal_difference", "blur", "edge", "motion")


def _smooth(n: int) -> np.ndarray:
    """Binomial weights (1, 2, 1 for n=3), normalised to sum 1: a cheap Gaussian."""
    row = np.array([1.0])
    for _ in range(n - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row / row.sum()


def _derivative(n: int, axis_name: str) -> np.ndarray:
    """Central-difference weights from −1 to +1 (−1, 0, 1 for n=3); needs at least two taps."""
    if n < 2:
        raise VisualiserError(f"This kernel differentiates along {axis_name} and needs at least 2 taps there; got {n}.")
    return np.linspace(-1.0, 1.0, n)


def _temporal_difference(kt: int, kh: int, kw: int) -> np.ndarray:
    """Later frames minus earlier frames, averaged over the spatial window: lights up change."""
    return _derivative(kt, "time")[:, None, None] * np.full((kh, kw), 1.0 / (kh * kw))[None]


def _blur(kt: int, kh: int, kw: int) -> np.ndarray:
    """Separable binomial smoothing in t, h and w; sums to 1."""
    return _smooth(kt)[:, None, None] * _smooth(kh)[None, :, None] * _smooth(kw)[None, None, :]


def _edge(kt: int, kh: int, kw: int) -> np.ndarray:
    """Sobel-like horizontal gradient (smooth in h, differentiate in w), averaged over time."""
    return _smooth(kt)[:, None, None] * _smooth(kh)[None, :, None] * _derivative(kw, "width")[None, None, :]


def _motion(kt: int, kh: int, kw: int) -> np.ndarray:
    """Oriented in (t, w): positive on the rightward-moving diagonal, negative on the leftward one.

    A bright edge that moves right by about one cell per frame lines up with the positive
    diagonal, so the response is positive; the same edge moving left gives a negative response.
    """
    _derivative(kt, "time")
    _derivative(kw, "width")
    diagonal = np.zeros((kt, kw))
    for dt in range(kt):
        dw = round(dt * (kw - 1) / (kt - 1))
        diagonal[dt, dw] += 1.0
        diagonal[dt, kw - 1 - dw] -= 1.0
    return diagonal[:, None, :] * _smooth(kh)[None, :, None] / kt


_BUILDERS: dict[str, Callable[[int, int, int], np.ndarray]] = {
    "temporal_difference": _temporal_difference,
    "blur": _blur,
    "edge": _edge,
    "motion": _motion,
}


def teaching_kernel(name: str, in_channels: int = 3, size: Sequence[int] = (3, 3, 3)) -> Conv3dSpec:
    """Return one of :data:`TEACHING_KERNELS` as a single-group spec with stride 1 and no padding."""
    if name not in _BUILDERS:
        raise VisualiserError(f"Unknown teaching kernel '{name}'; choose one of {', '.join(TEACHING_KERNELS)}.")
    if in_channels < 1:
        raise VisualiserError(f"A kernel needs at least one input channel; got {in_channels}.")
    dims = tuple(int(v) for v in size)
    if len(dims) != 3 or min(dims) < 1:
        raise VisualiserError(f"The kernel size must be three positive integers (kt, kh, kw); got {tuple(size)}.")
    kernel = _BUILDERS[name](*dims)  # (kt, kh, kw)
    weight = np.broadcast_to(kernel / in_channels, (1, in_channels, *dims)).astype(np.float32)  # (K=1, C, kt, kh, kw)
    return Conv3dSpec(weight=weight, bias=np.zeros(1, np.float32), source=f"teaching:{name}")
