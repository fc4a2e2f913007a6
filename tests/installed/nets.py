"""Networks written for the installed-package check (``check_installed.py``) and the repository's own tests.

``CbamUNet``: a small U-Net on one channel (or any number of bands) with a CBAM after each stage, and a
segmentation map as its output, no class scores. ``MobileNetV3Like``: squeeze-and-excitation blocks gated by
pytorchcv's hard-sigmoid, ``F.relu6(x + 3.0, inplace=True) / 6.0``. Their attention modules remember the very
tensors they multiplied by in their last forward pass (``multiplied``), so a test can compare what the visualiser
recorded with what the network did, bit for bit. ``TinySENet``: a classifier with sigmoid SE gates, for the app.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RecordingCBAM(nn.Module):
    """CBAM as the paper draws it: a channel gate from the average and max pools, then a 7×7 spatial gate."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(), nn.Conv2d(channels // reduction, channels, 1)
        )
        self.conv = nn.Conv2d(2, 1, 7, padding=3)
        self.multiplied: tuple[torch.Tensor, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channel = torch.sigmoid(self.mlp(F.adaptive_avg_pool2d(x, 1)) + self.mlp(F.adaptive_max_pool2d(x, 1)))
        x = x * channel
        spatial = torch.sigmoid(self.conv(torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)))
        self.multiplied = (channel.detach().clone(), spatial.detach().clone())
        return x * spatial


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class CbamUNet(nn.Module):
    """Two levels down, one up, a CBAM after each stage; returns (N, 1, H, W) logits (a segmentation map)."""

    def __init__(self, in_channels: int = 1, width: int = 8) -> None:
        super().__init__()
        self.enc1, self.att1 = _conv(in_channels, width), RecordingCBAM(width)
        self.enc2, self.att2 = _conv(width, 2 * width), RecordingCBAM(2 * width)
        self.up = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec, self.att3 = _conv(2 * width, width), RecordingCBAM(width)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.att1(self.enc1(x))
        e2 = self.att2(self.enc2(F.max_pool2d(e1, 2)))
        return self.head(self.att3(self.dec(torch.cat([self.up(e2), e1], 1))))

    def attention(self) -> list[RecordingCBAM]:
        """The CBAM modules, in forward order."""
        return [self.att1, self.att2, self.att3]


class HSigmoid(nn.Module):
    """pytorchcv's hard-sigmoid: ReLU6 in place on ``x + 3``, over 6."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(x + 3.0, inplace=True) / 6.0


class SEBlock(nn.Module):
    """pytorchcv's SEBlock layout (pool, conv1, activ, conv2, sigmoid) with the in-place hard-sigmoid."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = nn.Conv2d(channels, channels // reduction, 1)
        self.activ = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels // reduction, channels, 1)
        self.sigmoid = HSigmoid()
        self.multiplied: tuple[torch.Tensor, ...] = ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.sigmoid(self.conv2(self.activ(self.conv1(self.pool(x)))))
        self.multiplied = (w.detach().clone(),)
        return x * w


class MobileNetV3Like(nn.Module):
    """A stem and three depthwise-separable units with SE, then a classifier of ``classes`` scores."""

    def __init__(self, classes: int = 4, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 2, 1), nn.BatchNorm2d(width), nn.Hardswish())
        units = []
        for i in range(3):
            cin, cout = width * (i + 1), width * (i + 2)
            units.append(
                nn.Sequential(
                    nn.Conv2d(cin, cin, 3, 2, 1, groups=cin), nn.BatchNorm2d(cin), nn.Hardswish(), SEBlock(cin),
                    nn.Conv2d(cin, cout, 1), nn.BatchNorm2d(cout),
                )
            )  # fmt: skip
        self.units = nn.Sequential(*units)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width * 4, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.units(self.stem(x)))

    def attention(self) -> list[SEBlock]:
        """The SE blocks, in forward order."""
        return [m for m in self.modules() if isinstance(m, SEBlock)]


class SqueezeExcite(nn.Module):
    """A sigmoid squeeze-and-excitation gate computed in code, as many papers' repositories write it."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Conv2d(channels, channels // 4, 1), nn.ReLU(), nn.Conv2d(channels // 4, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean((2, 3), keepdim=True)))


class TinySENet(nn.Sequential):
    """Two convolutions with a squeeze-and-excitation gate each, then ``classes`` scores."""

    def __init__(self, classes: int = 3, width: int = 16) -> None:
        super().__init__(
            nn.Conv2d(3, width, 3, 2, 1), nn.ReLU(), SqueezeExcite(width),
            nn.Conv2d(width, 2 * width, 3, 2, 1), nn.ReLU(), SqueezeExcite(2 * width),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, classes),
        )  # fmt: skip
