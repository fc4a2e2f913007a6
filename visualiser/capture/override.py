"""Overriding the gates of one of our own attention modules: a forward hook on its ``gate`` taps.

``capture.intervention.gate_override`` chooses this for our modules and ``capture.watch`` (which replaces a
foreign block's gate where it records it) for anything else; the watch also uses this for our modules
inside a foreign network. Identity sets every gate to 1; mute sets the listed channels' gate to 0.
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


def own_attention_module(model: nn.Module, name: str) -> AttentionModule | None:
    """The module at ``name`` if it is one of this project's attention modules, else None."""
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return None
    return module if isinstance(module, AttentionModule) else None


@contextmanager
def tap_override(model: nn.Module, block_name: str, mode: InterventionMode, channels: Sequence[int]) -> Iterator[None]:
    """One of our own attention modules' gates replaced by a hook on its ``gate`` taps (this context only)."""
    module = own_attention_module(model, block_name)
    if module is None:
        raise ValueError(f"{block_name!r} is not one of this project's attention modules")
    channel_set = sorted({int(c) for c in channels})
    with OwnedHooks() as hooks:
        for tap_path, tap in module.named_modules():
            if not (isinstance(tap, Tap) and tap.tap_name == "gate"):
                continue
            if mode == "mute" and tap_path.endswith("spatial.gate"):
                continue  # muting channels leaves the spatial gate as the network computed it
            hooks.forward_hook(tap, _replacement(mode, channel_set))
        yield
