"""One forward pass with every gate recorded (and, on request, Grad-CAM from that same pass).

Every network goes through the one recorder (``capture.watch``) with its discovery: read from structure for
our networks (``discover(model)``, no probe), made once by a probe pass for a user's own network (``Foreign``).
The output becomes class scores by the caller's ``scores`` function, or directly when it is a (batch, classes)
tensor, or not at all (a detector, a segmenter): then the probabilities are empty and ``ForwardRecord.note``
says why, and every gate is still recorded.

The input goes to the model's device and floating-point type (CUDA, MPS, half precision); everything that
comes back (probabilities, scores, gates, Grad-CAM maps) is CPU float32 NumPy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from visualiser.capture import (
    Discovery,
    FeatureGrab,
    Override,
    describe_output,
    discover,
    feature_layer,
    gradcam_maps,
    model_input,
    watch,
)
from visualiser.errors import InputError
from visualiser.result import BlockAttention

ScoresFn = Callable[[Any], torch.Tensor]
ImageTransform = Callable[[np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class Foreign:
    """How the pipeline runs a network that is not in our registry: what was found, and the caller's options.

    ``scores`` maps the network's output to (batch, classes) logits (softmax is applied for the
    predictions); ``transform`` is a callable preprocess (``(H, W, 3) uint8 → (3, h, w)`` tensor) used
    instead of the spec's ``Preprocess``; ``feature_layer`` names the Grad-CAM layer.
    """

    discovery: Discovery
    scores: ScoresFn | None = None
    feature_layer: str | None = None
    transform: ImageTransform | None = None


@dataclass(frozen=True)
class ForwardRecord:
    """Raw output of one recorded pass: softmax probabilities (B, N), blocks per batch element, Grad-CAM.

    ``probabilities`` and ``scores`` are (B, 0) when the network gives no class scores; ``note`` then says so.
    """

    probabilities: np.ndarray
    blocks: tuple[tuple[BlockAttention, ...], ...]
    gradcam: np.ndarray | None = None  # (B, h, w) in [0, 1]
    gradcam_class: tuple[int, ...] | None = None
    note: str | None = None
    scores: np.ndarray | None = None  # (B, N) class scores before the softmax


def no_scores_note(model_name: str, output: str) -> str:
    """The sentence shown instead of predictions for a network without class output."""
    return (
        f"{model_name} returns {output}, not class scores, so there are no predictions; every gate is still "
        "shown. Pass scores= (a function mapping the output to (batch, classes) logits) to rank classes."
    )


def class_scores(output: Any, batch: int, scores: ScoresFn | None) -> torch.Tensor | None:
    """(batch, K) scores from a network's output: ``scores(output)``, the output itself if it is (batch, K), or None."""
    if scores is not None:
        value = scores(output)
        if not (isinstance(value, torch.Tensor) and value.dim() == 2 and value.shape[0] == batch):
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise InputError(f"scores= must return a (batch, classes) tensor with batch {batch}; it returned {shape}")
        return value
    if isinstance(output, torch.Tensor) and output.dim() == 2 and output.shape[0] == batch:
        return output
    return None


def _numpy(t: torch.Tensor) -> np.ndarray:
    """A CPU float32 array of ``t`` (whatever its device and floating-point type)."""
    return t.detach().float().cpu().numpy()


def recorded_forward(
    model: nn.Module,
    x: torch.Tensor,
    gradcam: bool = False,
    foreign: Foreign | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> ForwardRecord:
    """One forward pass with every attention gate recorded; optionally Grad-CAM of the top-1 class.

    ``foreign``: a user's network's discovery and options (``pipeline.foreign_model(...).foreign``); without
    it the blocks are read from structure (our networks). Grad-CAM uses the same forward pass as the gates,
    so both describe the same computation. ``overrides`` forces blocks' gates in this pass (an intervention:
    ``{block: ("identity", ())}`` or ``{block: ("mute", channels)}``).
    """
    options = foreign or Foreign(discover(model))
    x = model_input(model, x)
    batch = x.shape[0]
    with ExitStack() as stack:
        watcher = stack.enter_context(watch(model, discovery=options.discovery, overrides=overrides))
        layer = feature_layer(model, options.feature_layer, options.discovery) if gradcam else None
        grab = stack.enter_context(FeatureGrab(layer)) if layer is not None else None
        with torch.set_grad_enabled(gradcam):
            output = model(x)
        scores = class_scores(output, batch, options.scores)
        if scores is None:
            note = no_scores_note(options.discovery.model_name, describe_output(output)[0])
            if gradcam:
                raise InputError(f"Grad-CAM needs class scores; {note}")
            probabilities = np.zeros((batch, 0), np.float32)
        else:
            note = None
            probabilities = torch.softmax(scores.detach().float(), dim=1).cpu().numpy()
        cams, classes = _gradcam(grab, scores)
    blocks = tuple(watcher.blocks(i) for i in range(batch))
    logits = _numpy(scores) if scores is not None else np.zeros((batch, 0), np.float32)
    return ForwardRecord(probabilities, blocks, cams, classes, note, logits)


def _gradcam(
    grab: FeatureGrab | None, scores: torch.Tensor | None
) -> tuple[np.ndarray | None, tuple[int, ...] | None]:
    if grab is None or scores is None:
        return None, None
    if grab.features is None:
        raise RuntimeError("the Grad-CAM layer was not used in the forward pass")
    maps, classes = gradcam_maps(scores, grab.features)
    return _numpy(maps), classes
