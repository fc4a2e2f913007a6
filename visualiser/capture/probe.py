"""The discovery probe: one forward pass that logs every module call and every torch call it makes.

A ``TorchFunctionMode`` sees each torch function and tensor method (``sigmoid``, ``mul``, ``view``,
``cat``, ...) with the very tensor objects the network passes around, and owned pre/post hooks on
every module say which module call each op happened in. Every tensor is kept alive until the log is
dropped, so ``id()`` identifies a tensor for the whole pass and the analysis can follow data flow
(which sigmoid output was multiplied with which module's input) by identity, never by value alone.

The probe runs once per model (``discover`` caches its conclusions); the recording passes that follow
hook only the modules it found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from visualiser.capture.owned import OwnedHooks


def flat_tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor in a (nested) tuple / list / dict, in order: how inputs and outputs are indexed."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in flat_tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in flat_tensors(item)]
    return []


def _scalars(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    plain = (int, float, bool, tuple, type(None))
    return tuple(a for a in (*args, *kwargs.values()) if isinstance(a, plain))


@dataclass(eq=False)
class Call:
    """One call of one module during the probe: its inputs, its outputs and the ops made inside it."""

    path: str
    module: nn.Module
    number: int  # how many times this module was called before, in this pass
    parent: Call | None
    inputs: list[torch.Tensor]
    outputs: list[torch.Tensor] = field(default_factory=list)
    first_op: int = 0  # ops [first_op, end_op) ran inside this call (at any depth)
    end_op: int = -1
    order: int = 0  # position among all calls, by entry
    finished: int = -1  # position among all calls, by exit (-1: still running, or it raised)

    def contains(self, other: Call | None) -> bool:
        """Whether ``other`` is this call or ran inside it."""
        while other is not None:
            if other is self:
                return True
            other = other.parent
        return False

    def ancestors(self) -> Iterator[Call]:
        """This call, then its parents up to the model's own call."""
        call: Call | None = self
        while call is not None:
            yield call
            call = call.parent


@dataclass(eq=False)
class Op:
    """One torch call: its name (``sigmoid``, ``mul``, ...), tensors in and out, scalars, and where it ran."""

    index: int
    name: str
    inputs: list[torch.Tensor]
    outputs: list[torch.Tensor]
    scalars: tuple[Any, ...]
    call: Call | None


@dataclass
class ProbeLog:
    """Everything one probe pass did, with lookups by tensor identity."""

    calls: list[Call] = field(default_factory=list)
    finished: int = 0
    ops: list[Op] = field(default_factory=list)
    output: Any = None
    producer: dict[int, Op] = field(default_factory=dict)  # id(tensor) → the last op that wrote it
    writers: dict[int, list[Op]] = field(default_factory=dict)  # id(tensor) → every op that wrote it (in-place)
    consumers: dict[int, list[Op]] = field(default_factory=dict)
    made_by_call: dict[int, list[tuple[Call, int]]] = field(default_factory=dict)  # module outputs
    fed_to_call: dict[int, list[tuple[Call, int]]] = field(default_factory=dict)  # module inputs
    _keep: list[Any] = field(default_factory=list)

    def index(self) -> None:
        """Build the identity lookups once the pass is over."""
        for op in self.ops:
            for t in op.outputs:
                self.producer[id(t)] = op
                self.writers.setdefault(id(t), []).append(op)
            for t in op.inputs:
                self.consumers.setdefault(id(t), []).append(op)
        for call in self.calls:
            for i, t in enumerate(call.outputs):
                self.made_by_call.setdefault(id(t), []).append((call, i))
            for i, t in enumerate(call.inputs):
                self.fed_to_call.setdefault(id(t), []).append((call, i))


class _LoggingMode(TorchFunctionMode):
    def __init__(self, log: ProbeLog, stack: list[Call]) -> None:
        super().__init__()
        self.log = log
        self.stack = stack

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name in ("__get__", "size", "dim", "is_contiguous", "numel", "stride", "__len__"):
            return out  # shape queries: nothing flows
        inputs = flat_tensors(args) + flat_tensors(kwargs)
        outputs = flat_tensors(out)
        self.log._keep.append((inputs, outputs))
        call = self.stack[-1] if self.stack else None
        self.log.ops.append(Op(len(self.log.ops), name, inputs, outputs, _scalars(args, kwargs), call))
        return out


def _module_names(model: nn.Module) -> dict[int, str]:
    names: dict[int, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), name)
    return names


def probe(model: nn.Module, *args: Any) -> ProbeLog:
    """Run ``model(*args)`` once under no_grad with every module call and torch call logged.

    The network runs in eval mode for the probe (train-mode flags are restored afterwards) and with
    the random generator state restored, so discovery changes neither BatchNorm statistics nor the
    caller's random stream. Hooks and the mode never outlive this call, also when the forward raises.
    """
    log = ProbeLog()
    stack: list[Call] = []
    counts: dict[int, int] = {}
    names = _module_names(model)
    training = {m: m.training for m in model.modules()}
    mode = _LoggingMode(log, stack)

    def enter(module: nn.Module, inputs: tuple[Any, ...]) -> None:
        number = counts.get(id(module), 0)
        counts[id(module)] = number + 1
        tensors = flat_tensors(inputs)
        log._keep.append(tensors)
        call = Call(names.get(id(module), "?"), module, number, stack[-1] if stack else None, tensors)
        call.first_op, call.order = len(log.ops), len(log.calls)
        log.calls.append(call)
        stack.append(call)

    def leave(module: nn.Module, _inputs: tuple[Any, ...], output: Any) -> None:
        if not stack or stack[-1].module is not module:
            return  # the matching enter never ran (another pre-hook raised first)
        call = stack.pop()
        call.end_op = len(log.ops)
        call.finished, log.finished = log.finished, log.finished + 1
        call.outputs = flat_tensors(output)
        log._keep.append(call.outputs)

    try:
        with OwnedHooks() as hooks, torch.random.fork_rng(devices=[]), torch.no_grad():
            for module in model.modules():
                hooks.forward_pre_hook(module, enter)
                hooks.forward_hook(module, leave, always_call=True)
            model.eval()
            with mode:
                log.output = model(*args)
    finally:
        for module, flag in training.items():
            module.training = flag  # the attribute itself: ``train()`` may be overridden with side effects
    log.index()
    return log
