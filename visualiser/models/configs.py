"""Architecture configs of the ResNet families, without torch.

The registry (model lists, titles, availability) reads these when the app starts; keeping them free of
torch lets the page come up before torch is imported. ``resnet.py`` and ``video_resnet.py`` build the
networks from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from visualiser.types import BuiltAttention

BlockKind = Literal["basic", "bottleneck"]
StemKind = Literal["standard", "deep", "small"]
Style = Literal["timm", "caffe"]


@dataclass(frozen=True)
class ResNetConfig:
    """Architecture of one ResNet.

    ``style="caffe"`` is the SENet authors' network: stride on the bottleneck's first 1x1 conv,
    max-pool with ``ceil_mode`` and no padding, and a ReLU after ``bn2`` (before SE) in basic
    blocks. ``stride_in_1x1`` overrides only the stride placement (pytorchcv's ``seresnet50`` is
    timm-style otherwise). ``stem_width`` is the number of channels leaving the stem.
    """

    block: BlockKind = "bottleneck"
    layers: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stem: StemKind = "standard"
    stem_width: int = 64
    style: Style = "timm"
    stride_in_1x1: bool | None = None
    avg_down: bool = False
    attn: BuiltAttention = "none"
    attn_options: tuple[tuple[str, object], ...] = ()
    num_classes: int = 1000
    in_chans: int = 3
    drop_rate: float = 0.0

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1

    @property
    def strides_in_1x1(self) -> bool:
        return self.style == "caffe" if self.stride_in_1x1 is None else self.stride_in_1x1


Triple = tuple[int, int, int]
ConvKind = Literal["3d", "2plus1d"]


@dataclass(frozen=True)
class VideoResNetConfig:
    """Architecture of one video ResNet (basic blocks).

    ``stage_strides`` are (T, H, W) strides of each stage's first block; ``None`` means
    torchvision's 1, 2, 2, 2 in all three dimensions. For ``conv="2plus1d"`` the stem is the
    factorised (1,k,k) then (kt,1,1) pair with ``stem_mid`` channels in between (45 in torchvision).
    """

    conv: ConvKind = "3d"
    layers: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stage_strides: tuple[Triple, ...] | None = None
    stem_width: int = 64
    stem_kernel: Triple = (3, 7, 7)
    stem_stride: Triple = (1, 2, 2)
    stem_mid: int = 45
    attn: BuiltAttention = "none"
    attn_options: tuple[tuple[str, object], ...] = ()
    num_classes: int = 400
    in_chans: int = 3
    drop_rate: float = 0.0

    def strides(self) -> tuple[Triple, ...]:
        if self.stage_strides is not None:
            return self.stage_strides
        return tuple((1, 1, 1) if i == 0 else (2, 2, 2) for i in range(len(self.layers)))
