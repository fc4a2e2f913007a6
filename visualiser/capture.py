"""Record what the attention modules computed during a forward pass.

``AttentionRecorder`` hooks every :class:`~visualiser.models.layers.Tap` inside every
attention module and stores the tensor that flowed through it (detached, on the CPU). The
hooks exist only inside the ``with`` block and are removed in ``finally``, so an exception
never leaves a hook behind.

Concurrency: several threads may analyse different inputs with the same cached model at
once. Each recorder stores only the calls made from its own context (a ``ContextVar`` holds the
active recorder), so records never mix even though every recorder's hooks see every call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from visualiser.models.layers import AttentionModule, Tap

_ACTIVE: contextvars.ContextVar[AttentionRecorder | None] = contextvars.ContextVar("active_recorder", default=None)


def attention_modules(model: nn.Module) -> Iterator[tuple[str, AttentionModule]]:
    """Top-level attention modules (a CBAM, not its channel/spatial halves) in registration order."""
    for name, module in model.named_modules():
        if isinstance(module, AttentionModule):
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            if parent and isinstance(model.get_submodule(parent), AttentionModule):
                continue
            yield name, module


class AttentionRecorder:
    """Context manager that collects every tap's output, keyed by qualified name, in forward order."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.taps: dict[str, torch.Tensor] = {}
        self._handles: list[RemovableHandle] = []
        self._token: contextvars.Token[AttentionRecorder | None] | None = None

    def __enter__(self) -> Self:
        self.taps = {}
        try:
            for name, module in self.model.named_modules():
                if isinstance(module, Tap):
                    self._handles.append(module.register_forward_hook(self._make_hook(name)))
        except BaseException:
            self._remove()
            raise
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._token is not None:
                _ACTIVE.reset(self._token)
                self._token = None
        finally:
            self._remove()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _make_hook(self, name: str):
        def hook(_module: nn.Module, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            if _ACTIVE.get() is self:
                # A module called twice in one pass (not the case in our nets) keeps the last call.
                self.taps[name] = output.detach().to("cpu", copy=True)

        return hook

    def module_taps(self, module_name: str) -> dict[str, torch.Tensor]:
        """Taps recorded under one module, keyed by the path below it (e.g. ``spatial.gate``)."""
        prefix = module_name + "."
        return {k[len(prefix) :]: v for k, v in self.taps.items() if k.startswith(prefix)}


def hook_count(model: nn.Module) -> int:
    """Number of forward hooks currently registered anywhere in ``model`` (tests use it)."""
    return sum(len(m._forward_hooks) for m in model.modules())
