"""What a recording pass hooks, worked out once per (model, discovery): owners, carriers, forced gates.

An *owner* is a module found to gate its input; its points are taken from *carriers* (its submodules, or
itself) or from torch calls inside it (the function mode). An owner is *direct* when nothing needs
counting: no function mode, and every carrier runs once in the whole pass (so it serves no other owner);
its hooks then write their tensor straight into the records, without opening and closing a frame per
owner call.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from visualiser.capture.discover import Discovery
from visualiser.capture.plans import GatePlan
from visualiser.capture.rules import Point, Role

InterventionMode = Literal["identity", "mute"]  # identity: every gate of the block 1; mute: chosen channels 0
Override = tuple[InterventionMode, Sequence[int]]
Key = tuple[Role, str]  # (gate role, BlockAttention field or "gate")
Carrier = tuple[int, str]  # (id of the module, "output" | "input")


@dataclass
class Owner:
    """What one owner module's calls record, by the carrier (module and side) or torch call that yields it."""

    path: str
    module: nn.Module
    functional: bool = False
    on_modules: dict[Carrier, list[tuple[Key, Point]]] = field(default_factory=dict)
    on_itself: list[tuple[Key, Point]] = field(default_factory=list)
    on_ops: dict[str, list[tuple[Key, Point]]] = field(default_factory=dict)

    @property
    def direct(self) -> bool:
        """Whether its hooks can record without per-call frames (see the module docstring)."""
        points = [p for entries in self.on_modules.values() for _, p in entries] + [p for _, p in self.on_itself]
        return not self.functional and all(p.number == 0 and p.calls == 1 for p in points)


@dataclass(frozen=True)
class Wiring:
    """Every owner of a model's found blocks, and the carrier modules to hook."""

    owners: dict[str, Owner]
    carriers: dict[Carrier, nn.Module]
    op_names: frozenset[str]
    kernels: dict[str, nn.Parameter]  # parameter path → the spatial gates' learned kernels


def gate_points(gate: GatePlan) -> list[tuple[Key, Point]]:
    """The gate's own point, then its internals'."""
    return [((gate.role, "gate"), gate.gate), *(((gate.role, name), p) for name, p in gate.internals)]


def _wire(model: nn.Module, discovery: Discovery) -> Wiring:
    owners: dict[str, Owner] = {}
    carriers: dict[Carrier, nn.Module] = {}
    for plan in discovery.plans:
        for gate in plan.gates:
            owner = owners.get(gate.owner)
            if owner is None:
                owner = owners[gate.owner] = Owner(gate.owner, model.get_submodule(gate.owner))
            for key, point in gate_points(gate):
                owner.functional |= point.functional
                if point.where == "op":
                    owner.on_ops.setdefault(point.op, []).append((key, point))
                elif point.module == gate.owner and point.where == "output" and point.number == 0:
                    owner.on_itself.append((key, point))
                else:
                    carrier = model.get_submodule(point.module)
                    ident = (id(carrier), point.where)
                    carriers[ident] = carrier
                    owner.on_modules.setdefault(ident, []).append((key, point))
    ops = frozenset(name for owner in owners.values() for name in owner.on_ops)
    kernels = {g.kernel: model.get_parameter(g.kernel) for p in discovery.plans for g in p.gates if g.kernel}
    return Wiring(owners, carriers, ops, kernels)


_WIRED: weakref.WeakKeyDictionary[nn.Module, tuple[Discovery, Wiring]] = weakref.WeakKeyDictionary()


def wiring(model: nn.Module, discovery: Discovery) -> Wiring:
    """The wiring for ``model`` and ``discovery`` (computed once, then reused by every watch)."""
    entry = _WIRED.get(model)
    if entry is not None and entry[0] is discovery:
        return entry[1]
    wired = _wire(model, discovery)
    if "" not in wired.owners:  # a wiring holding the model itself would keep it alive: not cached
        _WIRED[model] = (discovery, wired)
    return wired


def replace_item(value: Any, item: int, new: torch.Tensor) -> Any:
    """``value`` (a tensor or nested tuple / list / dict) with its ``item``-th tensor replaced."""
    position = [0]

    def rebuild(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            position[0] += 1
            return new if position[0] - 1 == item else v
        if isinstance(v, (tuple, list)):
            return type(v)(rebuild(x) for x in v)
        if isinstance(v, dict):
            return {k: rebuild(x) for k, x in v.items()}
        return v

    return rebuild(value)


def forced_gate(gate: torch.Tensor, role: Role, override: Override) -> torch.Tensor | None:
    """The gate an intervention puts in place of ``gate`` (None: leave it as computed)."""
    mode, channels = override
    if mode == "identity":
        return torch.ones_like(gate)
    if role != "channel":
        return None  # muting channels leaves the spatial gate as the network computed it
    changed = gate.detach().clone().contiguous()
    changed.view(changed.shape[0], -1)[:, list(channels)] = 0.0
    return changed.view(gate.shape)
