"""A checkpoint's architecture, from its keys and shapes: which layout saved it, then which network it is.

The layout (``layouts.detect_layout``) decides the family: 2-D ResNets are read by ``infer.infer_resnet``,
torchvision-style video ResNets by ``infer_video.infer_video``; both share ``infer``'s helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError
from visualiser.models.infer import Inference, Misfit, infer_resnet, shapes_of
from visualiser.models.infer_video import infer_video
from visualiser.models.layouts import SIGNATURES, detect_layout
from visualiser.models.weights import remap_state_dict

if TYPE_CHECKING:
    import torch


def infer_architecture(state: Mapping[str, torch.Tensor], source: str) -> Inference:
    """The config a checkpoint (keys as saved, wrappers removed) fits, or a WeightsError naming what does not."""
    original = shapes_of(state)
    layout = detect_layout(original)
    if layout is None:
        shown = ", ".join(f"{k} {s}" for k, s in list(original.items())[:6])
        raise WeightsError(
            f"{source} does not look like any ResNet layout we build: none of {'; '.join(SIGNATURES)} is there. "
            f"It holds {len(original)} tensors: {shown}{', ...' if len(original) > 6 else ''}"
        )
    shapes = shapes_of(remap_state_dict(state, layout.key_map))
    try:
        if layout.task == "clip":
            return infer_video(shapes, layout)
        return infer_resnet(shapes, layout)
    except Misfit as misfit:
        raise WeightsError(f"{source} is in the {layout.title} but fits none of our ResNets: {misfit}") from None
