"""Video ResNets in torchvision's exact layout: R3D-18, R(2+1)D-18, and small 3-D attention nets.

torchvision's Kinetics-400 checkpoints load into these modules without renaming: ``stem.*``,
``layerS.i.conv1.0.*`` (R3D) or ``layerS.i.conv1.0.{0,1,3}.*`` (R(2+1)D), ``downsample.{0,1}``,
``fc``. The same code builds the small embedded 3-D nets: a block may carry an attention
module (attribute ``se``, 3-D variant) after its last BN and before the residual add.

Paper: Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition",
https://arxiv.org/abs/1711.11248.
"""

from __future__ import annotations

import torch
from torch import nn

from visualiser.models.configs import Triple, VideoResNetConfig
from visualiser.models.layers import make_attention


def _midplanes(inplanes: int, planes: int) -> int:
    """(2+1)D width that keeps the parameter count of a 3x3x3 conv (torchvision, once per block)."""
    return (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)


def _conv3x3x3(cin: int, cout: int, mid: int, stride: Triple) -> nn.Module:
    del mid  # only the factorised conv uses it
    return nn.Conv3d(cin, cout, (3, 3, 3), stride=stride, padding=(1, 1, 1), bias=False)


def _conv2plus1d(cin: int, cout: int, mid: int, stride: Triple) -> nn.Module:
    """Spatial (1,3,3) conv → BN → ReLU → temporal (3,1,1) conv; keys ``0``, ``1``, ``3``."""
    st, sh, sw = stride
    return nn.Sequential(
        nn.Conv3d(cin, mid, (1, 3, 3), stride=(1, sh, sw), padding=(0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(),
        nn.Conv3d(mid, cout, (3, 1, 1), stride=(st, 1, 1), padding=(1, 0, 0), bias=False),
    )


class VideoBasicBlock(nn.Module):
    """``conv1`` = (conv, BN, ReLU), ``conv2`` = (conv, BN), optional ``se``, residual add, ReLU."""

    def __init__(
        self, cfg: VideoResNetConfig, inplanes: int, planes: int, stride: Triple, downsample: nn.Module | None
    ):
        super().__init__()
        conv = _conv2plus1d if cfg.conv == "2plus1d" else _conv3x3x3
        mid = _midplanes(inplanes, planes)
        self.conv1 = nn.Sequential(conv(inplanes, planes, mid, stride), nn.BatchNorm3d(planes), nn.ReLU())
        self.conv2 = nn.Sequential(conv(planes, planes, mid, (1, 1, 1)), nn.BatchNorm3d(planes))
        self.se = make_attention(cfg.attn, planes, dims=3, **dict(cfg.attn_options))
        self.downsample = downsample
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.conv2(self.conv1(x))
        if self.se is not None:
            out = self.se(out)
        return self.relu(out + shortcut)


def _stem(cfg: VideoResNetConfig) -> nn.Sequential:
    kt, kh, kw = cfg.stem_kernel
    st, sh, sw = cfg.stem_stride
    if cfg.conv == "3d":
        return nn.Sequential(
            nn.Conv3d(
                cfg.in_chans,
                cfg.stem_width,
                cfg.stem_kernel,
                stride=cfg.stem_stride,
                padding=(kt // 2, kh // 2, kw // 2),
                bias=False,
            ),
            nn.BatchNorm3d(cfg.stem_width),
            nn.ReLU(),
        )
    return nn.Sequential(
        nn.Conv3d(
            cfg.in_chans, cfg.stem_mid, (1, kh, kw), stride=(1, sh, sw), padding=(0, kh // 2, kw // 2), bias=False
        ),
        nn.BatchNorm3d(cfg.stem_mid),
        nn.ReLU(),
        nn.Conv3d(cfg.stem_mid, cfg.stem_width, (kt, 1, 1), stride=(st, 1, 1), padding=(kt // 2, 0, 0), bias=False),
        nn.BatchNorm3d(cfg.stem_width),
        nn.ReLU(),
    )


class VideoResNet(nn.Module):
    """``stem`` → ``layer1..N`` → global average pool over (T, H, W) → ``fc``. Input (B, C, T, H, W)."""

    def __init__(self, cfg: VideoResNetConfig) -> None:
        super().__init__()
        if len(cfg.layers) != len(cfg.widths) or not cfg.layers:
            raise ValueError("VideoResNetConfig.layers and .widths must be non-empty and the same length")
        self.cfg = cfg
        self.stem = _stem(cfg)
        inplanes = cfg.stem_width
        self.stage_names: tuple[str, ...] = tuple(f"layer{i + 1}" for i in range(len(cfg.layers)))
        for name, depth, planes, stride in zip(self.stage_names, cfg.layers, cfg.widths, cfg.strides(), strict=True):
            blocks = []
            for i in range(depth):
                s = stride if i == 0 else (1, 1, 1)
                down = None
                if s != (1, 1, 1) or inplanes != planes:
                    down = nn.Sequential(nn.Conv3d(inplanes, planes, 1, stride=s, bias=False), nn.BatchNorm3d(planes))
                blocks.append(VideoBasicBlock(cfg, inplanes, planes, s, down))
                inplanes = planes
            self.add_module(name, nn.Sequential(*blocks))
        self.num_features = inplanes
        self.feature_layer_name = self.stage_names[-1]  # Grad-CAM target
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.drop = nn.Dropout(cfg.drop_rate) if cfg.drop_rate > 0 else nn.Identity()
        self.fc = nn.Linear(inplanes, cfg.num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map, (B, C, T', H', W')."""
        x = self.stem(x)
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.drop(self.avgpool(self.forward_features(x)).flatten(1)))


def build_video_resnet(cfg: VideoResNetConfig) -> VideoResNet:
    """A freshly initialised :class:`VideoResNet`."""
    return VideoResNet(cfg)


def build_r3d_18(num_classes: int = 400) -> VideoResNet:
    """torchvision ``r3d_18``: 3x3x3 convs throughout, (3,7,7) stem."""
    return VideoResNet(VideoResNetConfig(conv="3d", num_classes=num_classes))


def build_r2plus1d_18(num_classes: int = 400) -> VideoResNet:
    """torchvision ``r2plus1d_18``: every 3x3x3 conv factorised into (1,3,3) then (3,1,1)."""
    return VideoResNet(VideoResNetConfig(conv="2plus1d", num_classes=num_classes))
