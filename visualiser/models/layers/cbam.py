"""CBAM (Woo et al., https://arxiv.org/abs/1807.06521): a channel gate, then a spatial gate, in 2-D and 3-D."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from visualiser.models.layers.base import AttentionModule, Tap, pool_all_but, reduced_width

SpatialOrder = Literal["mean_max", "max_mean"]


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
        avg = pool_all_but(x, 2, "mean")  # (B, C)
        mx = pool_all_but(x, 2, "max")  # (B, C)
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
