"""From the gates found in a probe to block plans: points for every gate and internal, CBAM halves paired.

A channel gate and a spatial gate form one block (kind ``cbam``) when they belong to one module, or
when the spatial gate is applied directly to what the channel gate produced and both modules are
siblings (CBAM's ``channel`` / ``spatial``, ``ChannelGate`` / ``SpatialGate``, ``ca`` / ``sa``). The block
is named after their parent when the parent holds no other gate, else ``<channel>+<spatial>``.
"""

from __future__ import annotations

import torch

from visualiser.capture.gatefind import RULES, FoundGate
from visualiser.capture.locate import (
    ancestors,
    cam_branches,
    gate_point,
    kernel_parameter,
    locate,
    pools,
    spatial_stack,
    uses_conv1d,
)
from visualiser.capture.plans import BlockPlan, GatePlan, Point
from visualiser.capture.trace import Call, ProbeLog

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
