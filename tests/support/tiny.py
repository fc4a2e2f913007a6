"""A tiny seeded network with one SE, one CBAM and one ECA block, named like our ResNets (layerS.i.se)."""

from __future__ import annotations

import torch
from torch import nn

from visualiser.models.layers import CBAM, EfficientChannelAttention, SqueezeExcite


class TinyBlock(nn.Module):
    def __init__(self, cin: int, cout: int, attention: nn.Module) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()
        self.se = attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.se(self.bn1(self.conv1(x))))


class TinyNet(nn.Module):
    feature_layer_name = "layer3"

    def __init__(self, num_classes: int = 5) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(TinyBlock(3, 16, SqueezeExcite(16, reduction=4)))
        self.layer2 = nn.Sequential(TinyBlock(16, 32, CBAM(32, reduction=4, order="max_mean")))
        self.layer3 = nn.Sequential(TinyBlock(32, 32, EfficientChannelAttention(32)))
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


def tiny_net(seed: int = 0) -> TinyNet:
    """Seeded weights, with BN statistics perturbed so BN is not the identity."""
    torch.manual_seed(seed)
    net = TinyNet()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.normal_(1, 0.1)
            m.bias.data.normal_(0, 0.1)
    return net.eval()
