"""Hooks that belong to one caller: registered inside a ``with``, acting only for that caller's calls.

A model is shared by concurrent requests (one cached copy per process), and a forward hook on it sees
every thread's calls. ``OwnedHooks`` puts an owner token into a context variable when it is entered;
each hook it registers first asks whether the call comes from a context that holds its token, so
records, Grad-CAM features and gate overrides never cross between requests. The handles are removed
in ``__exit__``, also when the ``with`` body raised, so nothing is ever left registered.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from torch import nn
from torch.utils.hooks import RemovableHandle

_ACTIVE: contextvars.ContextVar[tuple[object, ...]] = contextvars.ContextVar("visualiser_owned_hooks", default=())

ForwardHook = Callable[[nn.Module, tuple[Any, ...], Any], Any]


class OwnedHooks:
    """Context manager owning forward hooks; a hook runs only for calls made from the entering context."""

    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []
        self._token: contextvars.Token[tuple[object, ...]] | None = None

    def __enter__(self) -> Self:
        self._token = _ACTIVE.set((*_ACTIVE.get(), self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._token is not None:
                _ACTIVE.reset(self._token)
                self._token = None
        finally:
            self.remove()

    @property
    def active(self) -> bool:
        """Whether the current call comes from a context that entered this owner."""
        return any(owner is self for owner in _ACTIVE.get())

    def forward_hook(self, module: nn.Module, hook: ForwardHook, always_call: bool = False) -> None:
        """Register ``hook(module, inputs, output)`` on ``module``; its return value replaces the output.

        ``always_call=True`` runs the hook also when the forward raised (``output`` is then None), so a
        hook that closes what a pre-hook opened always runs.
        """
        if self._token is None:
            raise RuntimeError("OwnedHooks.forward_hook is only allowed inside the `with` block")

        def owned(mod: nn.Module, inputs: tuple[Any, ...], output: Any) -> Any:
            return hook(mod, inputs, output) if self.active else None

        self._handles.append(module.register_forward_hook(owned, always_call=always_call))

    def forward_pre_hook(self, module: nn.Module, hook: Callable[[nn.Module, tuple[Any, ...]], Any]) -> None:
        """Register ``hook(module, inputs)`` before ``module`` runs (for the calls of this context only)."""
        if self._token is None:
            raise RuntimeError("OwnedHooks.forward_pre_hook is only allowed inside the `with` block")

        def owned(mod: nn.Module, inputs: tuple[Any, ...]) -> Any:
            return hook(mod, inputs) if self.active else None

        self._handles.append(module.register_forward_pre_hook(owned))

    def remove(self) -> None:
        """Remove every hook registered so far (idempotent)."""
        handles, self._handles = self._handles, []
        for handle in handles:
            handle.remove()


class HookedContext:
    """Base of a context manager whose hooks are registered on entry (``_register``) and all removed on exit.

    A failure part-way through registering removes what was registered so far, then propagates.
    """

    def __init__(self) -> None:
        self._hooks = OwnedHooks()

    def _register(self, hooks: OwnedHooks) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._hooks.__enter__()
        try:
            self._register(self._hooks)
        except BaseException:
            self._hooks.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._hooks.__exit__(exc_type, exc, tb)


def hook_count(model: nn.Module) -> int:
    """Forward and pre-forward hooks currently registered anywhere in ``model`` (tests use it)."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
