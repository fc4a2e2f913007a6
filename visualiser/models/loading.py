"""``create_model(name)``: the registered architecture with its pretrained weights, ready for inference.

The spec is not attached to the module: callers that need it (preprocessing, labels, citation)
ask the registry with ``get_spec(name)``; the pipeline keeps both together in ``LoadedModel``.
Nothing is cached here, the pipeline caches loaded models.
"""

from __future__ import annotations

from torch import nn

from visualiser.models.registry import get_spec
from visualiser.models.weights import load_pretrained
from visualiser.types import ProgressFn


def create_model(
    name: str, pretrained: bool = True, allow_download: bool = True, progress: ProgressFn | None = None
) -> nn.Module:
    """Build ``name`` and, if ``pretrained``, fetch, remap and strictly load its weights; eval mode.

    A first use that downloads the weights reports ``(fraction, "… 12.5 of 112.5 MB")`` to ``progress``.
    Raises ``ModelNotFoundError`` for an unknown name and ``WeightsError`` when the weights are
    unavailable, corrupt or do not fit.
    """
    spec = get_spec(name)
    model = spec.builder()
    if pretrained and spec.weights.kind != "none":
        load_pretrained(model, spec, allow_download=allow_download, progress=progress)
    return model.eval()
