"""One 2-D ResNet family that is, key for key and op for op, the published attention ResNets.

A single configurable network covers timm's ``seresnet50`` / ``ecaresnet50d``, the SENet
authors' Caffe-style models (timm ``legacy_seresnet*``), pytorchcv's ``seresnet50`` and
``cbam_resnet50``, and the small embedded models. The differences that matter are the ones that
change the function while keeping the keys (stride on the 1x1 or the 3x3, the max-pool's
padding, a ReLU before SE in Caffe basic blocks), so each is an explicit config field.

Key names follow timm (``conv1``, ``bn1``, ``layerS.i.convK/bnK/se/downsample``, ``fc``); other
checkpoint layouts are renamed by ``weights.remap_state_dict``. The attention module in every
block is the attribute ``se`` (``None`` without attention), whatever its kind.
"""

from __future__ import annotations

import torch
from torch import nn

from visualiser.models.configs import BlockKind, ResNetConfig, StemKind, Style
from visualiser.models.layers import make_attention

__all__ = ["BlockKind", "ResNet", "ResNetConfig", "StemKind", "Style", "build_resnet"]


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels)


def _attention(cfg: ResNetConfig, channels: int) -> nn.Module | None:
    return make_attention(cfg.attn, channels, dims=2, **dict(cfg.attn_options))


class BasicBlock(nn.Module):
    """Two 3x3 convs; attention after ``bn2`` (after its ReLU in Caffe style), before the residual add."""

    def __init__(self, cfg: ResNetConfig, inplanes: int, planes: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _bn(planes)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = _bn(planes)
        self.pre_attn_act = nn.ReLU() if cfg.style == "caffe" else nn.Identity()
        self.se = _attention(cfg, planes)
        self.downsample = downsample
        self.act2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.pre_attn_act(self.bn2(self.conv2(out)))
        if self.se is not None:
            out = self.se(out)
        return self.act2(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 → 3x3 → 1x1 (x4 channels); attention after ``bn3``, before the residual add."""

    def __init__(self, cfg: ResNetConfig, inplanes: int, planes: int, stride: int, downsample: nn.Module | None):
        super().__init__()
        outplanes = planes * 4
        stride_1x1, stride_3x3 = (stride, 1) if cfg.strides_in_1x1 else (1, stride)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride_1x1, bias=False)
        self.bn1 = _bn(planes)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride_3x3, padding=1, bias=False)
        self.bn2 = _bn(planes)
        self.act2 = nn.ReLU()
        self.conv3 = nn.Conv2d(planes, outplanes, 1, bias=False)
        self.bn3 = _bn(outplanes)
        self.se = _attention(cfg, outplanes)
        self.downsample = downsample
        self.act3 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.act2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        return self.act3(out + shortcut)


def _downsample(cfg: ResNetConfig, inplanes: int, outplanes: int, stride: int) -> nn.Module:
    """Projection shortcut: ``0`` conv + ``1`` BN, or ResNet-D's keyless avg-pool then ``1`` conv + ``2`` BN."""
    if not cfg.avg_down:
        return nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False), _bn(outplanes))
    pool: nn.Module = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride != 1 else nn.Identity()
    return nn.Sequential(pool, nn.Conv2d(inplanes, outplanes, 1, bias=False), _bn(outplanes))


def _stem_conv(cfg: ResNetConfig) -> nn.Module:
    w = cfg.stem_width
    if cfg.stem == "standard":
        return nn.Conv2d(cfg.in_chans, w, 7, stride=2, padding=3, bias=False)
    if cfg.stem == "small":
        return nn.Conv2d(cfg.in_chans, w, 3, stride=2, padding=1, bias=False)
    if cfg.stem == "deep":  # timm "deep": three 3x3 convs, w/2 → w/2 → w, BNs at .1/.4, the last BN is bn1
        mid = w // 2
        return nn.Sequential(
            nn.Conv2d(cfg.in_chans, mid, 3, stride=2, padding=1, bias=False),
            _bn(mid),
            nn.ReLU(),
            nn.Conv2d(mid, mid, 3, padding=1, bias=False),
            _bn(mid),
            nn.ReLU(),
            nn.Conv2d(mid, w, 3, padding=1, bias=False),
        )
    raise ValueError(f"unknown stem {cfg.stem!r}; expected standard, deep or small")


def _stem_pool(cfg: ResNetConfig) -> nn.Module:
    if cfg.stem == "small":
        return nn.Identity()
    if cfg.style == "caffe":
        return nn.MaxPool2d(3, stride=2, ceil_mode=True)
    return nn.MaxPool2d(3, stride=2, padding=1)


class ResNet(nn.Module):
    """Stem → ``layer1..N`` → global average pool → ``fc``; see :class:`ResNetConfig`."""

    def __init__(self, cfg: ResNetConfig) -> None:
        super().__init__()
        if len(cfg.layers) != len(cfg.widths) or not cfg.layers:
            raise ValueError("ResNetConfig.layers and .widths must be non-empty and the same length")
        self.cfg = cfg
        self.conv1 = _stem_conv(cfg)
        self.bn1 = _bn(cfg.stem_width)
        self.act1 = nn.ReLU()
        self.maxpool = _stem_pool(cfg)
        block_cls = Bottleneck if cfg.block == "bottleneck" else BasicBlock
        inplanes = cfg.stem_width
        self.stage_names: tuple[str, ...] = tuple(f"layer{i + 1}" for i in range(len(cfg.layers)))
        for index, (depth, planes) in enumerate(zip(cfg.layers, cfg.widths, strict=True)):
            stride = 1 if index == 0 else 2
            outplanes = planes * cfg.expansion
            blocks = []
            for i in range(depth):
                s = stride if i == 0 else 1
                down = _downsample(cfg, inplanes, outplanes, s) if (s != 1 or inplanes != outplanes) else None
                blocks.append(block_cls(cfg, inplanes, planes, s, down))
                inplanes = outplanes
            self.add_module(self.stage_names[index], nn.Sequential(*blocks))
        self.num_features = inplanes
        self.feature_layer_name = self.stage_names[-1]  # Grad-CAM target
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(cfg.drop_rate) if cfg.drop_rate > 0 else nn.Identity()
        self.fc = nn.Linear(inplanes, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map, (B, C, H', W')."""
        x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.global_pool(features).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def build_resnet(cfg: ResNetConfig) -> ResNet:
    """A freshly initialised :class:`ResNet` (PyTorch default init; weights come from a checkpoint)."""
    return ResNet(cfg)
