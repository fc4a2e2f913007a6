"""Record what our attention modules computed during a forward pass.

``AttentionRecorder`` hooks every :class:`~visualiser.models.layers.Tap` inside every attention
module and stores the tensor that flowed through it (detached, on the CPU): the very tensor the
network used, never a recomputation. Hooks exist only inside the ``with`` block (see ``owned``).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from visualiser.capture.owned import HookedContext, OwnedHooks
from visualiser.models.layers import AttentionModule, Tap


def attention_modules(model: nn.Module) -> Iterator[tuple[str, AttentionModule]]:
    """Top-level attention modules (a CBAM, not its channel/spatial halves) in registration order."""
    for name, module in model.named_modules():
        if isinstance(module, AttentionModule):
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            if parent and isinstance(model.get_submodule(parent), AttentionModule):
                continue
            yield name, module


class AttentionRecorder(HookedContext):
    """Context manager that collects every tap's output, keyed by qualified name, in forward order."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.taps: dict[str, torch.Tensor] = {}

    def _register(self, hooks: OwnedHooks) -> None:
        self.taps = {}
        for name, module in self.model.named_modules():
            if isinstance(module, Tap):
                hooks.forward_hook(module, self._make_hook(name))

    def _make_hook(self, name: str):
        def hook(_module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            # A module called twice in one pass (not the case in our nets) keeps the last call.
            self.taps[name] = output.detach().to("cpu", copy=True)

        return hook

    def module_taps(self, module_name: str) -> dict[str, torch.Tensor]:
        """Taps recorded under one module, keyed by the path below it (e.g. ``spatial.gate``)."""
        prefix = module_name + "."
        return {k[len(prefix) :]: v for k, v in self.taps.items() if k.startswith(prefix)}
