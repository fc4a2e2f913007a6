"""Grad-CAM (Selvaraju et al., https://arxiv.org/abs/1610.02391) from the same forward pass as the gates.

``FeatureGrab`` keeps the output of one layer during the pass (a hook owned by this context); after the
pass, ``gradcam_maps`` takes the gradient of each element's top-1 score with respect to those features,
weights the feature maps by its spatial mean, sums, ReLUs and scales each map to [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from visualiser.capture.discover import Discovery
from visualiser.capture.owned import HookedContext, OwnedHooks
from visualiser.errors import InputError


def feature_layer(model: nn.Module, name: str | None = None, discovery: Discovery | None = None) -> nn.Module:
    """The layer Grad-CAM looks at.

    In order: ``name`` (the caller's choice), ``model.feature_layer_name`` (our networks), the discovery's
    last feature map over the input's positions (any probed network), the last ``layerN`` stage. A network
    whose last 4-D (5-D) tensor is made of tokens (a vision transformer) has none: an ``InputError`` asks
    for ``feature_layer=``.
    """
    name = name or getattr(model, "feature_layer_name", None)
    if name is None and discovery is not None:
        name = discovery.feature_layer
    if name is None:
        stages = [n for n, _ in model.named_children() if n.startswith("layer")]
        if not stages:
            why = f" ({discovery.feature_note})" if discovery is not None and discovery.feature_note else ""
            raise InputError(
                f"{type(model).__name__} has no feature map over the image's positions to take Grad-CAM from{why}; "
                "name the layer to use with feature_layer="
            )
        name = stages[-1]
    try:
        return model.get_submodule(name)
    except AttributeError:
        raise InputError(f"{type(model).__name__} has no layer {name!r} to take Grad-CAM from") from None


class FeatureGrab(HookedContext):
    """Context manager keeping ``layer``'s last output of this context's forward pass (with its graph)."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer
        self.features: torch.Tensor | None = None

    def _register(self, hooks: OwnedHooks) -> None:
        hooks.forward_hook(self.layer, self._keep)

    def _keep(self, _module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        self.features = output


def gradcam_maps(logits: torch.Tensor, features: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Grad-CAM of each element's top-1 class: (B, h, w[, ...]) maps in [0, 1] and the classes.

    ``torch.autograd.grad``, not ``backward()``: parameters' ``.grad`` is shared by concurrent requests and
    stays untouched.
    """
    top = logits.argmax(dim=1)
    (grad,) = torch.autograd.grad(logits.gather(1, top[:, None]).sum(), features)
    weights = grad.mean(dim=tuple(range(2, grad.dim())), keepdim=True)
    cam = torch.relu((weights * features).sum(dim=1)).detach()  # (B, h, w)
    flat = cam.flatten(1)
    shape = (-1, *([1] * (cam.dim() - 1)))
    lo = flat.min(1).values.view(shape)
    hi = flat.max(1).values.view(shape)
    return (cam - lo) / (hi - lo).clamp_min(1e-12), tuple(int(c) for c in top)
