"""ECA (Wang et al., https://arxiv.org/abs/1910.03151): a 1-D convolution across the pooled channels."""

from __future__ import annotations

import math

import torch
from torch import nn

from visualiser.models.layers.base import AttentionModule, Tap, pool_all_but


def eca_kernel_size(channels: int, gamma: int = 2, beta: int = 1) -> int:
    """ECA's adaptive 1-D kernel size: nearest odd number to (log2 C + b) / gamma, at least 3."""
    t = int(abs(math.log2(channels) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


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
        s = self.squeeze(pool_all_but(x, 2, "mean"))  # (B, C)
        g = self.gate(self.sigmoid(self.conv(s.view(b, 1, c))).view(b, c))
        return x * g.view((b, c) + (1,) * (x.dim() - 2))
