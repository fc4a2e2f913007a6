"""One forward pass with every gate recorded (and, on request, Grad-CAM from that same pass)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from visualiser.capture import AttentionRecorder, FeatureGrab, blocks_from_recording, feature_layer, gradcam_maps
from visualiser.result import BlockAttention


@dataclass(frozen=True)
class ForwardRecord:
    """Raw output of one recorded pass: softmax probabilities (B, N), blocks per batch element, Grad-CAM."""

    probabilities: np.ndarray
    blocks: tuple[tuple[BlockAttention, ...], ...]
    gradcam: np.ndarray | None = None  # (B, h, w) in [0, 1]
    gradcam_class: tuple[int, ...] | None = None


def recorded_forward(model: nn.Module, x: torch.Tensor, gradcam: bool = False) -> ForwardRecord:
    """One forward pass with every attention tap recorded; optionally Grad-CAM of the top-1 class.

    Grad-CAM uses the same forward pass as the gates, so both describe the same computation.
    """
    with ExitStack() as stack:
        recorder = stack.enter_context(AttentionRecorder(model))
        grab = stack.enter_context(FeatureGrab(feature_layer(model))) if gradcam else None
        with torch.set_grad_enabled(gradcam):
            logits = model(x)
        probabilities = torch.softmax(logits.detach().float(), dim=1).numpy()
        cams, classes = None, None
        if grab is not None:
            if grab.features is None:
                raise RuntimeError("the Grad-CAM layer was not used in the forward pass")
            maps, classes = gradcam_maps(logits, grab.features)
            cams = maps.numpy()
    blocks = tuple(blocks_from_recording(model, recorder, i) for i in range(x.shape[0]))
    return ForwardRecord(probabilities, blocks, cams, classes)
