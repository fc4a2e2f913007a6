"""Attention layers: SE, CBAM (channel + spatial), ECA, in 2D and 3D.

Each module computes exactly what its paper (and the checkpoint it must load) computes, and
passes every intermediate the app shows through a named :class:`Tap`. A tap is an identity
module without parameters, so it adds no state_dict keys, and a forward hook on it sees the
very tensor the network used: the recorder in ``visualiser.capture`` hooks taps, never
recomputes anything.

Papers: SE https://arxiv.org/abs/1709.01507, CBAM https://arxiv.org/abs/1807.06521,
ECA https://arxiv.org/abs/1910.03151.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from visualiser.types import AttentionKind, BuiltAttention

SpatialOrder = Literal["mean_max", "max_mean"]
WidthRule = Literal["divisible8", "floor"]


class Tap(nn.Identity):
    """A named point where an attention module exposes an intermediate tensor.

    ``tap_name`` is one of: ``squeeze`` (SE pooled vector), ``gate`` (the sigmoid output that
    scales the features), ``avg_logits`` / ``max_logits`` (CBAM channel-branch MLP outputs),
    ``mean_map`` / ``max_map`` (CBAM spatial inputs), ``logits`` (pre-sigmoid spatial map).
    """

    def __init__(self, tap_name: str) -> None:
        super().__init__()
        self.tap_name = tap_name


class AttentionModule(nn.Module):
    """Base class: lets the recorder find attention modules and know what they are."""

    kind: AttentionKind = "gate"
    dims: int = 2


def reduced_width(channels: int, reduction: int = 16, rule: WidthRule = "floor", min_width: int = 1) -> int:
    """Hidden width of an SE/CAM bottleneck.

    ``floor`` is C // r (SENet authors, pytorchcv, official CBAM); ``divisible8`` is timm's
    ``make_divisible(C / r, 8)``, which gives 8 (not 4) for C=64.
    """
    if rule == "divisible8":
        value = channels / reduction
        return max(8, int(value + 4) // 8 * 8)
    return max(min_width, channels // reduction)


def eca_kernel_size(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """ECA's adaptive 1-D kernel size: nearest odd number to (log2 C + b) / gamma, at least 3."""
    t = int(abs(math.log2(channels) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


def _pool_all_but(x: torch.Tensor, keep: int, how: str) -> torch.Tensor:
    dims = tuple(range(keep, x.dim()))
    return x.mean(dims) if how == "mean" else x.amax(dims)


class SqueezeExcite(AttentionModule):
    """Squeeze-and-Excitation: global average pool → FC → ReLU → FC → sigmoid → scale.

    The FCs are 1×1 convolutions (timm and SENet-authors key layout ``fc1``/``fc2``).
    """

    kind = "se"

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        width_rule: WidthRule = "floor",
        bias: bool = True,
        dims: int = 2,
    ) -> None:
        super().__init__()
        self.dims = dims
        hidden = reduced_width(channels, reduction, width_rule)
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        self.squeeze = Tap("squeeze")
        self.fc1 = conv(channels, hidden, 1, bias=bias)
        self.act = nn.ReLU(inplace=False)
        self.fc2 = conv(hidden, channels, 1, bias=bias)
        self.sigmoid = nn.Sigmoid()
        self.gate = Tap("gate")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = tuple(range(2, x.dim()))
        s = self.squeeze(x.mean(spatial, keepdim=True))  # (B, C, 1, 1[, 1])
        g = self.gate(self.sigmoid(self.fc2(self.act(self.fc1(s)))))
        return x * g


class ChannelAttention(AttentionModule):
    """CBAM channel gate: one shared MLP on the average- and max-pooled vectors, summed, sigmoid.

    ``mlp_form="linear"`` uses ``nn.Linear`` layers (official CBAM / pytorchcv, with bias);
    ``"conv"`` uses 1×1 convolutions (timm's ``CbamModule``, no bias).
    """

    kind = "cam"

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        mlp_form: Literal["linear", "conv"] = "linear",
        bias: bool = True,
        dims: int = 2,
    ) -> None:
        super().__init__()
        self.dims = dims
        hidden = reduced_width(channels, reduction, "floor")
        self.mlp_form = mlp_form
        if mlp_form == "linear":
            self.fc1: nn.Module = nn.Linear(channels, hidden, bias=bias)
            self.fc2: nn.Module = nn.Linear(hidden, channels, bias=bias)
        else:
            conv = nn.Conv2d if dims == 2 else nn.Conv3d
            self.fc1 = conv(channels, hidden, 1, bias=bias)
            self.fc2 = conv(hidden, channels, 1, bias=bias)
        self.act = nn.ReLU(inplace=False)
        self.avg_logits = Tap("avg_logits")
        self.max_logits = Tap("max_logits")
        self.sigmoid = nn.Sigmoid()
        self.gate = Tap("gate")

    def _mlp(self, v: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(v)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        avg = _pool_all_but(x, 2, "mean")  # (B, C)
        mx = _pool_all_but(x, 2, "max")  # (B, C)
        if self.mlp_form == "conv":
            shape = (b, c) + (1,) * (x.dim() - 2)
            avg, mx = avg.view(shape), mx.view(shape)
        a = self.avg_logits(self._mlp(avg).reshape(b, c))
        m = self.max_logits(self._mlp(mx).reshape(b, c))
        g = self.gate(self.sigmoid(a + m))  # (B, C)
        return x * g.view((b, c) + (1,) * (x.dim() - 2))


class ConvBN(nn.Module):
    """Convolution then BatchNorm with keys ``conv.*`` / ``bn.*`` (the spatial gate's layout)."""

    def __init__(self, cin: int, cout: int, kernel: int, dims: int = 2, with_bn: bool = True) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
        self.conv = conv(cin, cout, kernel, padding=kernel // 2, bias=not with_bn)
        self.bn = bn(cout) if with_bn else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SpatialAttention(AttentionModule):
    """CBAM spatial gate: concat channel-mean and channel-max maps → k×k conv (+BN) → sigmoid.

    ``order`` is ``"max_mean"`` for the official CBAM and pytorchcv checkpoints and
    ``"mean_max"`` for timm and the seed tutorial; the conv's two input channels follow it.
    In 3D (``dims=3``) the maps and the gate are T×H×W.
    """

    kind = "sam"

    def __init__(self, kernel_size: int = 7, order: SpatialOrder = "max_mean", with_bn: bool = True, dims: int = 2):
        super().__init__()
        if kernel_size not in (3, 5, 7):
            raise ValueError(f"spatial attention kernel must be 3, 5 or 7, got {kernel_size}")
        self.dims = dims
        self.order = order
        self.kernel_size = kernel_size
        self.mean_map = Tap("mean_map")
        self.max_map = Tap("max_map")
        self.conv = ConvBN(2, 1, kernel_size, dims=dims, with_bn=with_bn)
        self.logits = Tap("logits")
        self.sigmoid = nn.Sigmoid()
        self.gate = Tap("gate")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean_map(x.mean(1, keepdim=True))  # (B, 1, [T,] H, W)
        mx = self.max_map(x.amax(1, keepdim=True))
        stacked = torch.cat([mx, mean] if self.order == "max_mean" else [mean, mx], dim=1)
        g = self.gate(self.sigmoid(self.logits(self.conv(stacked))))
        return x * g


class CBAM(AttentionModule):
    """Convolutional Block Attention Module: channel gate, then spatial gate, in sequence."""

    kind = "cbam"

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        mlp_form: Literal["linear", "conv"] = "linear",
        bias: bool = True,
        spatial_kernel: int = 7,
        order: SpatialOrder = "max_mean",
        dims: int = 2,
    ) -> None:
        super().__init__()
        self.dims = dims
        self.channel = ChannelAttention(channels, reduction, mlp_form, bias, dims)
        self.spatial = SpatialAttention(spatial_kernel, order, True, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class EfficientChannelAttention(AttentionModule):
    """ECA: a 1-D convolution across the pooled channel vector (no bias), sigmoid, scale."""

    kind = "eca"

    def __init__(self, channels: int, kernel_size: int | None = None, dims: int = 2) -> None:
        super().__init__()
        self.dims = dims
        k = kernel_size or eca_kernel_size(channels)
        self.squeeze = Tap("squeeze")
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()
        self.gate = Tap("gate")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        s = self.squeeze(_pool_all_but(x, 2, "mean"))  # (B, C)
        g = self.gate(self.sigmoid(self.conv(s.view(b, 1, c))).view(b, c))
        return x * g.view((b, c) + (1,) * (x.dim() - 2))


def make_attention(kind: BuiltAttention, channels: int, dims: int = 2, **options: object) -> nn.Module | None:
    """Factory used by the ResNet blocks: ``None`` for ``"none"``, else the configured module."""
    if kind == "none":
        return None
    if kind == "se":
        return SqueezeExcite(channels, dims=dims, **options)  # type: ignore[arg-type]
    if kind == "cbam":
        return CBAM(channels, dims=dims, **options)  # type: ignore[arg-type]
    if kind == "eca":
        return EfficientChannelAttention(channels, dims=dims, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown attention kind {kind!r}; expected none, se, cbam or eca")
