"""Squeeze-and-Excitation (Hu et al., https://arxiv.org/abs/1709.01507)."""

from __future__ import annotations

import torch
from torch import nn

from visualiser.models.layers.base import AttentionModule, Tap, WidthRule, reduced_width


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
