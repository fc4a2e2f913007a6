"""Deterministic weights: every tensor seeded by the CRC-32 of its state_dict key.

This is the recipe of the reference fixtures (``tests/fixtures/*.json``, from ``shared/reference/README.md``):
the reference implementations were run with these weights to record their logits, so the parity tests can
prove offline that our modules compute what they compute. The benchmark uses the same weights to time the
ImageNet architectures without downloading them.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence

import torch
from torch import nn


def seeded_tensor(key: str, shape: Sequence[int]) -> torch.Tensor:
    """The tensor the recipe gives ``key``: BN statistics near identity, He-scaled weights, small biases."""
    shape = tuple(shape)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.long)
    if key.endswith("running_mean"):
        return 0.1 * torch.randn(shape, generator=g)
    if key.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=g)
    if len(shape) == 1 and key.endswith("weight"):
        return 1 + 0.1 * torch.randn(shape, generator=g)
    if len(shape) == 1:
        return 0.1 * torch.randn(shape, generator=g)
    return torch.randn(shape, generator=g) * math.sqrt(2 / math.prod(shape[1:]))


def seeded_state_dict(keys: Iterable[tuple[str, Sequence[int]]]) -> dict[str, torch.Tensor]:
    """``{key: seeded_tensor(key, shape)}`` for (key, shape) pairs, e.g. a fixture's reference key list."""
    return {key: seeded_tensor(key, shape) for key, shape in keys}


def with_seeded_weights(model: nn.Module) -> nn.Module:
    """``model`` (in eval mode) with every parameter and buffer replaced by the recipe's, keyed by our names."""
    state = seeded_state_dict((key, value.shape) for key, value in model.state_dict().items())
    model.load_state_dict(state, strict=True)
    return model.eval()
