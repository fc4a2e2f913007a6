"""Block plans: where a recording pass takes each gate and internal, as plain data, and the two ways they are made.

* **From a probe** (``block_plans``): the gates the run-time rule found (``rules``) get a point each, their
  internals are located, and a channel gate and a spatial gate form one block (kind ``cbam``) when they
  belong to one module, or when the spatial gate is applied directly to what the channel gate produced
  and both modules are siblings (CBAM's ``channel`` / ``spatial``, ``ChannelGate`` / ``SpatialGate``,
  ``ca`` / ``sa``). The block is named after their parent when the parent holds no other gate, else
  ``<channel>+<spatial>``.
* **From structure** (``structure_plans``): this project's own attention modules pass every intermediate
  through a named ``Tap`` (``models.layers``), so their plans are read off the module tree with no forward
  pass: each ``gate`` tap is a gate point, its sibling taps the internals.

Plans hold module paths, never modules, so they stay valid for the model they were made for and cost nothing
to keep. The watch records and overrides every plan the same way, whichever way it was made.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from visualiser.capture.probe import Call, ProbeLog
from visualiser.capture.rules import (
    RULES,
    FoundGate,
    Point,
    Role,
    ancestors,
    cam_branches,
    gate_point,
    kernel_parameter,
    locate,
    pools,
    spatial_stack,
    uses_conv1d,
)
from visualiser.models.layers import AttentionModule, Tap


@dataclass(frozen=True)
class GatePlan:
    """One gate of one owner module: where it and its internals are taken, and what it is."""

    role: Role
    owner: str  # path of the module whose call scopes every point
    gate: Point
    style: str  # "se", "cam", "eca", "gate" (channel) or "sam" (spatial)
    rule: str  # how it was recognised (a run-time rule or its structure), in words
    gate_function: str  # "sigmoid", "hardsigmoid", "hard-sigmoid relu6(x + 3) / 6", ...
    channels: int
    dims: int
    internals: tuple[tuple[str, Point], ...] = ()  # BlockAttention field → point
    unavailable: tuple[tuple[str, str], ...] = ()  # BlockAttention field → why it is not recorded
    kernel: str | None = None  # parameter path of the spatial gate's learned (1, 2, k, k[, k]) kernel
    order: str | None = None  # "max_mean" | "mean_max": the kernel's input-map order

    @property
    def functional(self) -> bool:
        """Whether this gate or one of its internals is taken by the function mode."""
        return self.gate.functional or any(p.functional for _, p in self.internals)


@dataclass(frozen=True)
class BlockPlan:
    """One block of the results: one or two gates (channel first), found at run time or read from structure."""

    name: str
    order: int  # position of its first call in the forward pass (registration order, read from structure)
    gates: tuple[GatePlan, ...] = ()  # channel gate first

    @property
    def roles(self) -> tuple[Role, ...]:
        """The gate roles this block records."""
        return tuple(g.role for g in self.gates)

    @property
    def kind(self) -> str:
        """The block's ``AttentionKind``: "cbam" for channel + spatial, else its one gate's style."""
        if len(self.gates) == 2:
            return "cbam"
        return self.gates[0].style if self.gates else "none"


# --- from a probe ------------------------------------------------------------------------------------------

ROOT_NAME = "(model)"


def display_name(path: str) -> str:
    """A block name for a module path (the model itself has none)."""
    return path or ROOT_NAME


def _inline(owner: str) -> str:
    return (
        f"computed inline in {display_name(owner)}'s forward and not passed through a submodule, so no hook "
        "sees it (the gate has a hook of its own, so this module is not traced op by op)"
    )


def _channel_tensors(log: ProbeLog, found: FoundGate) -> tuple[str, dict[str, torch.Tensor], dict[str, str]]:
    branches = cam_branches(log, found)
    if branches is not None:
        return "cam", {"avg_logits": branches[0], "max_logits": branches[1]}, {}
    pre = found.preactivation
    ops = ancestors(log, pre, found.gated, found.owner) if pre is not None else []
    pooled = pools(log, ops, found.gated, "space")
    if set(pooled) == {"mean"}:
        return ("eca" if uses_conv1d(ops) else "se"), {"squeeze": pooled["mean"]}, {}
    if set(pooled) == {"mean", "max"}:
        why = "the pooled vector mixes the channel average and maximum, so there is no plain squeeze"
        return "se", {}, {"squeeze": why}
    return "gate", {}, {"squeeze": "the gate does not start from a global average of the features"}


def _spatial_tensors(
    log: ProbeLog, found: FoundGate, parameters: dict[int, str]
) -> tuple[dict[str, torch.Tensor], dict[str, str], str | None, str | None]:
    pre = found.preactivation
    wanted: dict[str, torch.Tensor] = {} if pre is None else {"spatial_logits": pre}
    missing: dict[str, str] = {}
    ops = ancestors(log, pre, found.gated, found.owner) if pre is not None else []
    maps = pools(log, ops, found.gated, "channels")
    for kind in ("mean", "max"):
        if kind in maps:
            wanted[f"{kind}_map"] = maps[kind]
        else:
            missing[f"{kind}_map"] = f"the logits are not computed from a channel-{kind} map of the features"
    stack = spatial_stack(log, found, maps)
    kernel = order = None
    if stack is None:
        missing["spatial_kernel"] = "no (mean, max) stack of two maps feeds a convolution"
    else:
        named = kernel_parameter(log, found, stack[0], parameters)
        if named is None:
            missing["spatial_kernel"] = "the convolution applied to the (mean, max) stack is not a model parameter"
        else:
            kernel, order = named[0], stack[1]
    return wanted, missing, kernel, order


def plan_gate(log: ProbeLog, found: FoundGate, gate: Point, functional: bool, parameters: dict[int, str]) -> GatePlan:
    """The plan of one found gate, with its gate point chosen and its internals located."""
    kernel = order = None
    if found.role == "channel":
        style, wanted, missing = _channel_tensors(log, found)
    else:
        style = "sam"
        wanted, missing, kernel, order = _spatial_tensors(log, found, parameters)
    internals: list[tuple[str, Point]] = []
    for field, tensor in wanted.items():
        role = "channel" if field in ("squeeze", "avg_logits", "max_logits") else "spatial"
        point = locate(log, found.owner, tensor, role, found.gated, functional)
        if point is None:
            missing[field] = _inline(found.owner.path)
        else:
            internals.append((field, point))
    return GatePlan(
        role=found.role,
        owner=found.owner.path,
        gate=gate,
        style=style,
        rule=RULES[found.rule],
        gate_function=found.function,
        channels=int(found.gated.shape[1]),
        dims=found.dims,
        internals=tuple(internals),
        unavailable=tuple(sorted(missing.items())),
        kernel=kernel,
        order=order,
    )


def _first_per_owner(found: list[FoundGate]) -> tuple[dict[Call, list[FoundGate]], list[str]]:
    owners: dict[Call, list[FoundGate]] = {}
    notes: list[str] = []
    for gate in found:
        if gate.owner.number != 0:
            continue  # a module called again later: its first call decides
        mine = owners.setdefault(gate.owner, [])
        if any(g.role == gate.role for g in mine):
            notes.append(
                f"{display_name(gate.owner.path)}: a second {gate.role} gate in one forward is not recorded "
                "(a block holds one channel and one spatial gate)"
            )
            continue
        mine.append(gate)
    return owners, notes


def _feeds(channel: FoundGate, spatial: FoundGate) -> bool:
    """Whether the spatial gate was applied directly to what the channel gate produced."""
    produced = [*channel.mul.outputs, *channel.owner.outputs]
    return any(spatial.gated is t for t in produced)


def _pair_name(log: ProbeLog, channel: Call, spatial: Call, owners: dict[Call, list[FoundGate]]) -> str:
    parent = channel.parent
    if parent is not None and parent is spatial.parent and parent.parent is not None:
        inside = {c for c in owners if parent.contains(c)}
        if inside == {channel, spatial}:
            return parent.path
    return f"{display_name(channel.path)}+{display_name(spatial.path)}"


def block_plans(log: ProbeLog, found: list[FoundGate], parameters: dict[int, str]) -> tuple[list[BlockPlan], list[str]]:
    """One plan per block, in forward order, and notes on gates that were seen but are not recorded."""
    owners, notes = _first_per_owner(found)
    plans: dict[Call, list[GatePlan]] = {}
    for owner, gates in owners.items():
        points = []
        for gate in gates:
            try:
                points.append((gate, gate_point(log, gate)))
            except LookupError as e:
                notes.append(str(e))
        functional = any(p.functional for _, p in points)
        plans[owner] = [plan_gate(log, g, p, functional, parameters) for g, p in points]
    used: set[Call] = set()
    blocks: list[BlockPlan] = []
    ordered = sorted(owners, key=lambda c: c.order)
    for owner in ordered:
        if owner in used or not plans[owner]:
            continue
        mine = plans[owner]
        if [g.role for g in mine] == ["channel"]:
            partner = next(
                (
                    o
                    for o in ordered
                    if o not in used
                    and o is not owner
                    and [g.role for g in plans[o]] == ["spatial"]
                    and _feeds(owners[owner][0], owners[o][0])
                ),
                None,
            )
            if partner is not None:
                used.update((owner, partner))
                name = _pair_name(log, owner, partner, owners)
                blocks.append(BlockPlan(name, owner.order, (mine[0], plans[partner][0])))
                continue
        used.add(owner)
        gates = tuple(sorted(mine, key=lambda g: g.role != "channel"))
        blocks.append(BlockPlan(display_name(owner.path), owner.order, gates))
    return blocks, notes


# --- from structure: this project's own modules ------------------------------------------------------------

STRUCTURE_RULE = "passes its gate and internals through Tap children (read from structure, no probe pass)"
_TAP_FIELDS = {"squeeze": "squeeze", "avg_logits": "avg_logits", "max_logits": "max_logits",
               "mean_map": "mean_map", "max_map": "max_map", "logits": "spatial_logits"}  # fmt: skip


def _own_channels(module: nn.Module) -> int:
    """The channels a gate module's first layer reads (0 where its structure does not say: ECA)."""
    first = getattr(module, "fc1", None)
    if isinstance(first, nn.Linear):
        return first.in_features
    return int(getattr(first, "in_channels", 0))


def _own_gate(owner: str, module: AttentionModule) -> GatePlan:
    """One gate module (SE, ECA, CBAM's channel or spatial half): its ``gate`` tap and the taps beside it."""
    taps = {name: tap.tap_name for name, tap in module.named_children() if isinstance(tap, Tap)}
    prefix = f"{owner}." if owner else ""
    gate = next(name for name, tap_name in taps.items() if tap_name == "gate")
    internals = tuple((_TAP_FIELDS[t], Point(prefix + name, "output")) for name, t in taps.items() if t in _TAP_FIELDS)
    spatial = module.kind == "sam"
    return GatePlan(
        role="spatial" if spatial else "channel",
        owner=owner,
        gate=Point(prefix + gate, "output"),
        style=module.kind,
        rule=STRUCTURE_RULE,
        gate_function="sigmoid",
        channels=0 if spatial else _own_channels(module),
        dims=module.dims,
        internals=internals,
        kernel=f"{prefix}conv.conv.weight" if spatial else None,
        order=getattr(module, "order", None) if spatial else None,
    )


def structure_plans(model: nn.Module) -> list[BlockPlan]:
    """A plan per top-level attention module of this project's (a CBAM, not its halves), in registration order.

    A gate module is an ``AttentionModule`` with a ``gate`` tap among its children; a CBAM holds two (its
    ``channel`` and ``spatial`` halves) and is one block.
    """
    plans: list[BlockPlan] = []
    tops: list[str] = []
    for order, (name, module) in enumerate(model.named_modules()):
        if not isinstance(module, AttentionModule) or any(top == "" or name.startswith(f"{top}.") for top in tops):
            continue
        tops.append(name)
        prefix = f"{name}." if name else ""
        halves = [
            (prefix + sub if sub else name, m)
            for sub, m in module.named_modules()
            if isinstance(m, AttentionModule) and any(isinstance(t, Tap) and t.tap_name == "gate" for t in m.children())
        ]
        gates = sorted((_own_gate(path, m) for path, m in halves), key=lambda g: g.role != "channel")
        if gates:
            plans.append(BlockPlan(display_name(name), order, tuple(gates)))
    return plans
