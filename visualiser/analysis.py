"""Run a network once with the recorder attached and turn what it recorded into frozen blocks.

Also home of the two things that need the network a second time, honestly labelled as such:
Grad-CAM (a backward pass from the predicted class) and interventions (a second forward
pass with chosen gates overridden).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from visualiser.capture import AttentionRecorder, attention_modules
from visualiser.models.layers import CBAM, AttentionModule, SpatialAttention, Tap
from visualiser.result import BlockAttention, Prediction

_STAGE_RE = re.compile(r"layer(\d+)\.(\d+)\.")
# The Grad-CAM feature hook sits on a model shared by concurrent requests; it keeps only its own context's tensor.
_GRADCAM_OWNER: contextvars.ContextVar[object | None] = contextvars.ContextVar("gradcam_owner", default=None)


def _stage_and_block(name: str, order: int) -> tuple[int, int]:
    match = _STAGE_RE.search(name + ".")
    if match:
        return int(match.group(1)), int(match.group(2))
    return 0, order


def _vector(t: torch.Tensor | None, i: int) -> np.ndarray | None:
    if t is None:
        return None
    return t[i].reshape(-1).float().numpy().copy()  # (C,)


def _spatial(t: torch.Tensor | None, i: int) -> np.ndarray | None:
    if t is None:
        return None
    return t[i, 0].float().numpy().copy()  # (H, W) or (T, H, W)


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
        stage, block = _stage_and_block(name, order)
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
        channels = int(channel_gate.shape[1]) if channel_gate is not None else 0
        blocks.append(
            BlockAttention(
                name=name,
                stage=stage,
                block=block,
                kind=module.kind,
                channels=channels,
                channel_gate=_vector(channel_gate, index),
                squeeze=_vector(taps.get("squeeze"), index),
                avg_logits=_vector(taps.get("channel.avg_logits"), index),
                max_logits=_vector(taps.get("channel.max_logits"), index),
                spatial_gate=_spatial(taps.get(prefix + "gate"), index) if spatial is not None else None,
                spatial_logits=_spatial(taps.get(prefix + "logits"), index) if spatial is not None else None,
                mean_map=_spatial(taps.get(prefix + "mean_map"), index) if spatial is not None else None,
                max_map=_spatial(taps.get(prefix + "max_map"), index) if spatial is not None else None,
                spatial_kernel=kernel,
                spatial_order=spatial.order if spatial is not None else None,
            )
        )
    return tuple(blocks)


def top_predictions(probabilities: np.ndarray, labels: Sequence[str], k: int) -> tuple[Prediction, ...]:
    """The ``k`` most probable classes, highest first."""
    k = max(1, min(k, probabilities.shape[0]))
    order = np.argsort(-probabilities, kind="stable")[:k]
    return tuple(Prediction(int(i), labels[i] if i < len(labels) else str(i), float(probabilities[i])) for i in order)


@dataclass(frozen=True)
class ForwardRecord:
    """Raw output of one recorded pass: softmax probabilities (B, N), blocks per batch element, Grad-CAM."""

    probabilities: np.ndarray
    blocks: tuple[tuple[BlockAttention, ...], ...]
    gradcam: np.ndarray | None = None  # (B, h, w) in [0, 1]
    gradcam_class: tuple[int, ...] | None = None


def _feature_layer(model: nn.Module) -> nn.Module:
    name = getattr(model, "feature_layer_name", None)
    if name is None:
        stages = [n for n, _ in model.named_children() if n.startswith("layer")]
        if not stages:
            raise ValueError("Grad-CAM needs a model with layerN stages or a feature_layer_name attribute")
        name = stages[-1]
    return model.get_submodule(name)


def recorded_forward(model: nn.Module, x: torch.Tensor, gradcam: bool = False) -> ForwardRecord:
    """One forward pass with every attention tap recorded; optionally Grad-CAM of the top-1 class.

    Grad-CAM (Selvaraju et al., https://arxiv.org/abs/1610.02391) weights the last stage's feature
    maps by the spatially averaged gradient of the class score, sums, ReLUs and scales to [0, 1].
    It uses the same forward pass as the gates, so both describe the same computation.
    """
    features: list[torch.Tensor] = []
    handle = None
    token = None
    if gradcam:
        layer = _feature_layer(model)
        owner = object()

        def keep(_m: nn.Module, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            if _GRADCAM_OWNER.get() is not owner:
                return  # another request's pass through the shared model: not ours to keep
            features.append(out)

        handle = layer.register_forward_hook(keep)
        token = _GRADCAM_OWNER.set(owner)
    try:
        with torch.set_grad_enabled(gradcam), AttentionRecorder(model) as recorder:
            logits = model(x)
        probabilities = torch.softmax(logits.detach().float(), dim=1).numpy()
        cams = None
        classes = None
        if gradcam:
            top = logits.argmax(dim=1)
            fmap = features[-1]
            # autograd.grad, not backward(): parameters' .grad is shared by concurrent requests and stays untouched
            (grad,) = torch.autograd.grad(logits.gather(1, top[:, None]).sum(), fmap)
            weights = grad.mean(dim=tuple(range(2, grad.dim())), keepdim=True)
            cam = torch.relu((weights * fmap).sum(dim=1)).detach()  # (B, h, w)
            flat = cam.flatten(1)
            lo = flat.min(1).values.view(-1, *([1] * (cam.dim() - 1)))
            hi = flat.max(1).values.view(-1, *([1] * (cam.dim() - 1)))
            cams = ((cam - lo) / (hi - lo).clamp_min(1e-12)).numpy()
            classes = tuple(int(c) for c in top)
    finally:
        if token is not None:
            _GRADCAM_OWNER.reset(token)
        if handle is not None:
            handle.remove()
    blocks = tuple(blocks_from_recording(model, recorder, i) for i in range(x.shape[0]))
    return ForwardRecord(probabilities, blocks, cams, classes)


# --- interventions -------------------------------------------------------------------------------

InterventionMode = Literal["identity", "mute"]
_OVERRIDE: contextvars.ContextVar[object | None] = contextvars.ContextVar("gate_override", default=None)


@contextmanager
def gate_override(
    model: nn.Module, block_name: str, mode: InterventionMode, channels: Sequence[int] = ()
) -> Iterator[None]:
    """Inside the block, the chosen attention module's gates are overridden for calls from this context.

    ``identity`` sets every gate of the module (channel and spatial) to 1, i.e. removes the attention;
    ``mute`` sets the channel gate of the listed channels to 0. Other threads are unaffected.
    """
    module = model.get_submodule(block_name)
    if not isinstance(module, AttentionModule):
        raise ValueError(f"{block_name!r} is not an attention module")
    channel_set = sorted({int(c) for c in channels})
    if mode == "mute" and not channel_set:
        raise ValueError("mute needs at least one channel")
    token_owner = object()

    def make_hook(tap_path: str):
        def hook(_m: nn.Module, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> torch.Tensor | None:
            if _OVERRIDE.get() is not token_owner:
                return None
            if mode == "identity":
                return torch.ones_like(out)
            if tap_path.endswith("spatial.gate"):
                return None
            changed = out.clone()
            changed[:, channel_set] = 0.0
            return changed

        return hook

    handles = []
    for tap_path, tap in module.named_modules():
        if isinstance(tap, Tap) and tap.tap_name == "gate":
            if mode == "mute" and tap_path.endswith("spatial.gate"):
                continue
            handles.append(tap.register_forward_hook(make_hook(tap_path)))
    token = _OVERRIDE.set(token_owner)
    try:
        yield
    finally:
        _OVERRIDE.reset(token)
        for h in handles:
            h.remove()
