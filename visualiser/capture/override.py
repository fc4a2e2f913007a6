"""Interventions: force chosen gates of one attention module, for the calls of this context only.

A forward hook on the module's ``gate`` tap replaces the gate the network computed (identity: every
gate 1; mute: chosen channels 0). Other requests using the same model at the same time are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import torch
from torch import nn

from visualiser.capture.owned import OwnedHooks
from visualiser.models.layers import AttentionModule, Tap

InterventionMode = Literal["identity", "mute"]


def _replacement(mode: InterventionMode, channels: list[int]):
    def hook(_m: nn.Module, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> torch.Tensor:
        if mode == "identity":
            return torch.ones_like(out)
        changed = out.clone()
        changed[:, channels] = 0.0
        return changed

    return hook


@contextmanager
def gate_override(
    model: nn.Module, block_name: str, mode: InterventionMode, channels: Sequence[int] = ()
) -> Iterator[None]:
    """Inside the block, the chosen attention module's gates are overridden for calls from this context.

    ``identity`` sets every gate of the module (channel and spatial) to 1, i.e. removes the attention;
    ``mute`` sets the channel gate of the listed channels to 0.
    """
    module = model.get_submodule(block_name)
    if not isinstance(module, AttentionModule):
        raise ValueError(f"{block_name!r} is not an attention module")
    channel_set = sorted({int(c) for c in channels})
    if mode == "mute" and not channel_set:
        raise ValueError("mute needs at least one channel")
    with OwnedHooks() as hooks:
        for tap_path, tap in module.named_modules():
            if not (isinstance(tap, Tap) and tap.tap_name == "gate"):
                continue
            if mode == "mute" and tap_path.endswith("spatial.gate"):
                continue  # muting channels leaves the spatial gate as the network computed it
            hooks.forward_hook(tap, _replacement(mode, channel_set))
        yield
