"""Typed settings the front ends hand to the pipeline; torch-free, so the UI can build its controls from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AnimationMode = Literal["3d", "2d_vs_3d"]


@dataclass(frozen=True)
class Conv3dSettings:
    """What the 3D-convolution controls choose.

    The kernel size applies to teaching kernels; a geometry value of ``None`` keeps the layer's own
    (a model's stem keeps its real stride and padding; teaching kernels have stride 1, padding 0, dilation 1).
    """

    kernel: str = "teaching:temporal_difference"
    kernel_t: int = 3
    kernel_hw: int = 3
    stride_t: int | None = None
    stride_hw: int | None = None
    padding_t: int | None = None
    padding_hw: int | None = None
    dilation_t: int | None = None
    dilation_hw: int | None = None
    out_channel: int = 0
    mode: AnimationMode = "3d"
