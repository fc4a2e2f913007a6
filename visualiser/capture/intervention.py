"""Interventions: force chosen gates of one attention block, for the calls of this context only.

Our modules: a forward hook on the block's ``gate`` tap replaces the gate the network computed
(``override.tap_override``). Any other network's blocks: the watch replaces the gate where it records it (a
hook on the submodule that returns it, or the function mode's result of the gate call), see
``capture.watch``. Identity sets every gate of the block to 1 (channel and spatial), i.e. removes the
attention; mute sets the channel gate of the listed channels to 0. Other requests using the same model at
the same time are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from torch import nn

from visualiser.capture.discover import Discovery, cached_discovery
from visualiser.capture.override import InterventionMode, own_attention_module, tap_override
from visualiser.capture.watch import watch
from visualiser.errors import InputError


@contextmanager
def gate_override(
    model: nn.Module,
    block_name: str,
    mode: InterventionMode,
    channels: Sequence[int] = (),
    discovery: Discovery | None = None,
) -> Iterator[None]:
    """Inside the block, the chosen attention block's gates are overridden for calls from this context.

    ``identity`` sets every gate of the block (channel and spatial) to 1, i.e. removes the attention;
    ``mute`` sets the channel gate of the listed channels to 0. ``discovery`` (default: the one cached for
    ``model``) says where a foreign block's gates are; our own modules need none.
    """
    channel_set = sorted({int(c) for c in channels})
    if mode == "mute" and not channel_set:
        raise ValueError("mute needs at least one channel")
    module = own_attention_module(model, block_name)
    if module is None:
        discovery = discovery or cached_discovery(model)
        if discovery is None:
            raise ValueError(f"{block_name!r} is not an attention module (no discovery for this model yet)")
        plan = discovery.plan(block_name)
        if plan.ours:
            raise InputError(f"{block_name!r} is one of this project's modules but not at that path")
        with watch(model, discovery=discovery, overrides={block_name: (mode, channel_set)}):
            yield
        return
    with tap_override(model, block_name, mode, channel_set):
        yield
