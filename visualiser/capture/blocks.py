"""Turn what the recorder captured into frozen ``BlockAttention`` records, one per attention module."""

from __future__ import annotations

import re

import numpy as np
import torch
from torch import nn

from visualiser.capture.recorder import AttentionRecorder, attention_modules
from visualiser.models.layers import CBAM, AttentionModule, SpatialAttention
from visualiser.result import BlockAttention

_STAGE_RE = re.compile(r"layer(\d+)\.(\d+)\.")
_UNIT_RE = re.compile(r"stage(\d+)\.unit(\d+)\.")  # pytorchcv: features.stage2.unit3 (both 1-based)
_BLOCKS_RE = re.compile(r"blocks\.(\d+)\.(\d+)\.")  # timm EfficientNet / MobileNet: blocks.1.0 (0-based)


def stage_and_block(name: str, order: int) -> tuple[int, int]:
    """(1-based stage, 0-based block) from a ResNet name such as ``layer3.1.se``; (0, order) otherwise.

    pytorchcv (``stage2.unit3``) and timm EfficientNet / MobileNet (``blocks.1.0``) names are read too.
    """
    match = _STAGE_RE.search(name + ".")
    if match:
        return int(match.group(1)), int(match.group(2))
    if match := _UNIT_RE.search(name + "."):
        return int(match.group(1)), int(match.group(2)) - 1
    if match := _BLOCKS_RE.search(name + "."):
        return int(match.group(1)) + 1, int(match.group(2))
    return 0, order


def vector_at(t: torch.Tensor | None, i: int) -> np.ndarray | None:
    """Batch element ``i`` of a channel tensor (B, C[, 1, 1...]) as a (C,) float32 array."""
    if t is None:
        return None
    return t[i].reshape(-1).float().numpy().copy()


def spatial_at(t: torch.Tensor | None, i: int) -> np.ndarray | None:
    """Batch element ``i`` of a spatial tensor (B, 1, [T,] H, W) as an (H, W) / (T, H, W) float32 array."""
    if t is None:
        return None
    return t[i, 0].float().numpy().copy()


def _spatial_part(module: AttentionModule) -> SpatialAttention | None:
    if isinstance(module, CBAM):
        return module.spatial
    if isinstance(module, SpatialAttention):
        return module
    return None


def blocks_from_recording(model: nn.Module, recorder: AttentionRecorder, index: int = 0) -> tuple[BlockAttention, ...]:
    """One ``BlockAttention`` per attention module, for batch element ``index``, from recorded taps only."""
    blocks = []
    for order, (name, module) in enumerate(attention_modules(model)):
        taps = recorder.module_taps(name)
        if not taps:
            continue  # module not used in this forward pass
        stage, block = stage_and_block(name, order)
        spatial = _spatial_part(module)
        if isinstance(module, CBAM):
            channel_gate = taps.get("channel.gate")
            prefix = "spatial."
        else:
            channel_gate = taps.get("gate") if spatial is None else None
            prefix = ""
        kernel = None
        if spatial is not None:
            kernel = spatial.conv.conv.weight.detach()[0].float().cpu().numpy().copy()  # (2, k, k[, k])
        blocks.append(
            BlockAttention(
                name=name,
                stage=stage,
                block=block,
                kind=module.kind,
                channels=int(channel_gate.shape[1]) if channel_gate is not None else 0,
                channel_gate=vector_at(channel_gate, index),
                squeeze=vector_at(taps.get("squeeze"), index),
                avg_logits=vector_at(taps.get("channel.avg_logits"), index),
                max_logits=vector_at(taps.get("channel.max_logits"), index),
                spatial_gate=spatial_at(taps.get(prefix + "gate"), index) if spatial is not None else None,
                spatial_logits=spatial_at(taps.get(prefix + "logits"), index) if spatial is not None else None,
                mean_map=spatial_at(taps.get(prefix + "mean_map"), index) if spatial is not None else None,
                max_map=spatial_at(taps.get(prefix + "max_map"), index) if spatial is not None else None,
                spatial_kernel=kernel,
                spatial_order=spatial.order if spatial is not None else None,
            )
        )
    return tuple(blocks)
