"""What every attention module of ours shares: the ``Tap`` points, the base class, the bottleneck width.

Each module computes exactly what its paper (and the checkpoint it must load) computes, and passes every
intermediate the app shows through a named ``Tap``. A tap is an identity module without parameters, so it adds
no state_dict keys, and a forward hook on it sees the very tensor the network used: capture reads our modules'
plans off their taps and hooks them, never recomputes anything.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from visualiser.types import AttentionKind

WidthRule = Literal["divisible8", "floor"]


class Tap(nn.Identity):
    """A named point where an attention module exposes an intermediate tensor.

    ``tap_name`` is one of: ``squeeze`` (SE pooled vector), ``gate`` (the sigmoid output that
    scales the features), ``avg_logits`` / ``max_logits`` (CBAM channel-branch MLP outputs),
    ``mean_map`` / ``max_map`` (CBAM spatial inputs), ``logits`` (pre-sigmoid spatial map).
    """

    def __init__(self, tap_name: str) -> None:
        super().__init__()
        self.tap_name = tap_name


class AttentionModule(nn.Module):
    """Base class: what kind of gate a module is (``kind``) and its rank (``dims``); capture reads its taps."""

    kind: AttentionKind = "gate"
    dims: int = 2


def reduced_width(channels: int, reduction: int = 16, rule: WidthRule = "floor", min_width: int = 1) -> int:
    """Hidden width of an SE/CAM bottleneck.

    ``floor`` is C // r (SENet authors, pytorchcv, official CBAM); ``divisible8`` is timm's
    ``make_divisible(C / r, 8)``, which gives 8 (not 4) for C=64.
    """
    if rule == "divisible8":
        value = channels / reduction
        return max(8, int(value + 4) // 8 * 8)
    return max(min_width, channels // reduction)


def pool_all_but(x: torch.Tensor, keep: int, how: str) -> torch.Tensor:
    """``x`` averaged (``how="mean"``) or maximised over every axis from ``keep`` on."""
    dims = tuple(range(keep, x.dim()))
    return x.mean(dims) if how == "mean" else x.amax(dims)
