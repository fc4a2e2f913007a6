"""Our attention layers, one module per file (as timm's ``layers/``): SE, CBAM (channel + spatial), ECA, 2-D and 3-D.

``base`` holds what they share (``Tap``, ``AttentionModule``, the bottleneck width); ``make_attention`` is the
factory the ResNet blocks call.
"""

from __future__ import annotations

from torch import nn

from visualiser.models.layers.base import AttentionModule, Tap, WidthRule, reduced_width
from visualiser.models.layers.cbam import CBAM, ChannelAttention, ConvBN, SpatialAttention, SpatialOrder
from visualiser.models.layers.eca import EfficientChannelAttention, eca_kernel_size
from visualiser.models.layers.squeeze_excite import SqueezeExcite
from visualiser.types import BuiltAttention

__all__ = [
    "CBAM",
    "AttentionModule",
    "ChannelAttention",
    "ConvBN",
    "EfficientChannelAttention",
    "SpatialAttention",
    "SpatialOrder",
    "SqueezeExcite",
    "Tap",
    "WidthRule",
    "eca_kernel_size",
    "make_attention",
    "reduced_width",
]


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
