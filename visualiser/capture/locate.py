"""Where a recording pass can take a found gate and its internals, decided once from the probe log.

Preference order for every tensor: the output of a submodule that produced it (a forward hook), the
input of a submodule it was fed to (a pre-hook), one map of a concatenation that is either of those
(CBAM's (max, mean) stack going into its conv), and only for owners recorded with the function mode
anyway, the result of the n-th call of the torch function that made it. Every candidate is checked
against the probe's tensor, value for value, so a point always yields the very tensor the gate was.

Internals follow the data flow back from the gate's pre-activation to the gated map ``y``:

* channel gates: ``sigmoid(a + b)`` with ``a`` from an average pool of ``y`` and ``b`` from a max pool is
  CBAM's channel half (``avg_logits``, ``max_logits``); a gate from the average pool alone is SE (its
  ``squeeze``), or ECA when a 1-D convolution runs across the pooled channels;
* spatial gates: the channel-mean and channel-max maps of ``y``, their concatenation (whose order names
  the kernel's input maps), the convolution weight applied to it, and the logits.
"""

from __future__ import annotations

import torch

from visualiser.capture.gatefind import ADD_OPS, VIEW_OPS, FoundGate, view_chain
from visualiser.capture.plans import Point, Role
from visualiser.capture.trace import Call, Op, ProbeLog

MEAN_OPS = frozenset({"mean", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "avg_pool2d", "avg_pool3d"})
MAX_OPS = frozenset({"amax", "max", "adaptive_max_pool2d", "adaptive_max_pool3d", "max_pool2d", "max_pool3d"})
CAT_OPS = frozenset({"cat", "concat", "concatenate"})
CONV_OPS = frozenset({"conv2d", "conv3d"})
CHANNEL_FIELDS = ("squeeze", "avg_logits", "max_logits")
SPATIAL_FIELDS = ("mean_map", "max_map", "spatial_logits")


def within(owner: Call, op: Op) -> bool:
    """Whether ``op`` ran inside ``owner``'s call."""
    return owner.first_op <= op.index < owner.end_op


def _call_number(log: ProbeLog, owner: Call, call: Call) -> int:
    return sum(1 for c in log.calls[owner.order : call.order] if c.module is call.module and owner.contains(c))


def _op_number(log: ProbeLog, owner: Call, op: Op) -> int:
    return sum(1 for o in log.ops[owner.first_op : op.index] if o.name == op.name)


def _same_values(candidate: torch.Tensor, reference: torch.Tensor) -> bool:
    return candidate.numel() == reference.numel() and torch.equal(candidate.reshape(-1), reference.reshape(-1))


def shaped_for(role: Role, t: torch.Tensor, y: torch.Tensor) -> bool:
    """A tensor a point may yield for this role: per-channel values, or one map of ``y``'s positions."""
    if t.dim() < 2 or t.shape[0] != y.shape[0]:
        return False
    if role == "channel":
        return t.numel() == y.shape[0] * y.shape[1]
    spatial = tuple(y.shape[2:])
    return tuple(t.shape[1:]) in ((1, *spatial), spatial)


def _family(log: ProbeLog, t: torch.Tensor) -> list[torch.Tensor]:
    """``t``, the tensors it was reshaped from, and every reshaped copy made of any of them."""
    seen: dict[int, torch.Tensor] = {}
    todo = [t]
    op = log.producer.get(id(t))
    while op is not None and op.name in VIEW_OPS and op.inputs:
        todo.append(op.inputs[0])
        op = log.producer.get(id(op.inputs[0]))
    while todo and len(seen) < 64:
        u = todo.pop()
        if id(u) in seen:
            continue
        seen[id(u)] = u
        todo.extend(o for c in log.consumers.get(id(u), []) if c.name in VIEW_OPS for o in c.outputs)
    return list(seen.values())


def _module_point(log: ProbeLog, owner: Call, tensors: list[torch.Tensor]) -> Point | None:
    for table, where in ((log.made_by_call, "output"), (log.fed_to_call, "input")):
        for t in tensors:
            calls = [
                (c, i) for c, i in table.get(id(t), []) if owner.contains(c) and (where == "output" or c is not owner)
            ]
            if calls:
                call, item = max(calls, key=lambda ci: ci[0].order)  # the innermost module carrying it
                runs = sum(1 for c in log.calls if c.module is call.module)
                return Point(call.path, where, _call_number(log, owner, call), item, calls=runs)  # type: ignore[arg-type]
    return None


def _op_point(log: ProbeLog, owner: Call, t: torch.Tensor) -> Point | None:
    op = log.producer.get(id(t))
    if op is None or not within(owner, op):
        return None
    item = next(i for i, o in enumerate(op.outputs) if o is t)
    return Point(owner.path, "op", _op_number(log, owner, op), item, op.name)


def gate_point(log: ProbeLog, found: FoundGate) -> Point:
    """Where the gate is taken (and replaced, for interventions): on the way from the gate to the multiply."""
    owner, gate = found.owner, found.gate
    usable = [t for t in reversed(found.chain) if shaped_for(found.role, t, found.gated) and _same_values(t, gate)]
    point = _module_point(log, owner, usable)
    if point is None:
        point = _op_point(log, owner, gate)
    if point is None:  # the gate came from outside the owner: take it where it was made, by its own output
        raise LookupError(f"the gate of {owner.path!r} was computed outside it")
    return point


def locate(log: ProbeLog, owner: Call, t: torch.Tensor, role: Role, y: torch.Tensor, functional: bool) -> Point | None:
    """The best point for internal tensor ``t`` (None: no hook sees it)."""
    family = [u for u in _family(log, t) if shaped_for(role, u, y) and _same_values(u, t)]
    point = _module_point(log, owner, family)
    if point is not None:
        return point
    for member in _family(log, t):
        for cat in log.consumers.get(id(member), []):
            if cat.name not in CAT_OPS or not within(owner, cat) or not cat.outputs:
                continue
            position = next(i for i, u in enumerate(cat.inputs) if u is member)
            start = sum(int(u.shape[1]) for u in cat.inputs[:position] if u.dim() > 1)
            stack = cat.outputs[0]
            if stack.dim() != member.dim() or start + int(member.shape[1]) > stack.shape[1]:
                continue
            whole = _module_point(log, owner, [stack]) or (_op_point(log, owner, stack) if functional else None)
            if whole is not None:
                channels = (start, start + 1)
                return Point(whole.module, whole.where, whole.number, whole.item, whole.op, channels, whole.calls)
    return _op_point(log, owner, t) if functional else None


def ancestors(log: ProbeLog, t: torch.Tensor, stop: torch.Tensor, owner: Call) -> list[Op]:
    """The ops inside ``owner`` that ``t`` was computed from, not looking past ``stop``."""
    seen: set[int] = set()
    ops: list[Op] = []
    todo = [t]
    while todo:
        u = todo.pop()
        if u is stop or id(u) in seen:
            continue
        seen.add(id(u))
        for op in log.writers.get(id(u), []):  # several when written in place (``ReLU(inplace=True)``)
            if within(owner, op) and op not in ops:
                ops.append(op)
                todo.extend(op.inputs)
    return ops


def pools(log: ProbeLog, ops: list[Op], y: torch.Tensor, over: str) -> dict[str, torch.Tensor]:
    """{"mean": ..., "max": ...}: the first average / max pool of ``y`` among ``ops``.

    ``over="space"``: one value per channel (SE's squeeze); ``"channels"``: one map of positions. The pool
    may read ``y`` through a reshape (``x.flatten(2).mean(-1)``).
    """
    found: dict[str, torch.Tensor] = {}
    for op in sorted(ops, key=lambda o: o.index):
        if not op.inputs or not op.outputs or not any(t is y for t in view_chain(log, op.inputs[0])):
            continue
        kind = "mean" if op.name in MEAN_OPS else "max" if op.name in MAX_OPS else None
        out = op.outputs[0]
        if kind is None or kind in found:
            continue
        per_channel = out.numel() == y.shape[0] * y.shape[1] and out.dim() > 1 and out.shape[1] == y.shape[1]
        if (over == "space" and per_channel) or (over == "channels" and shaped_for("spatial", out, y)):
            found[kind] = out
    return found


def cam_branches(log: ProbeLog, found: FoundGate) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(avg branch, max branch) if the gate is sigmoid(avg-pool branch + max-pool branch), else None."""
    pre = found.preactivation
    op = log.producer.get(id(pre)) if pre is not None else None
    if op is None or op.name not in ADD_OPS or len(op.inputs) != 2:
        return None
    a, b = op.inputs
    pa = pools(log, ancestors(log, a, found.gated, found.owner), found.gated, "space")
    pb = pools(log, ancestors(log, b, found.gated, found.owner), found.gated, "space")
    if set(pa) == {"mean"} and set(pb) == {"max"}:
        return a, b
    if set(pa) == {"max"} and set(pb) == {"mean"}:
        return b, a
    return None


def spatial_stack(log: ProbeLog, found: FoundGate, maps: dict[str, torch.Tensor]) -> tuple[Op, str] | None:
    """The concatenation of the mean and max maps the logits came from, and its order."""
    if found.preactivation is None or set(maps) != {"mean", "max"}:
        return None
    for op in ancestors(log, found.preactivation, found.gated, found.owner):
        if op.name not in CAT_OPS or len(op.inputs) != 2:
            continue
        roots = []
        for t in op.inputs:
            family = _family(log, t)
            roots.append(next((k for k, m in maps.items() if any(u is m for u in family)), None))
        if roots == ["max", "mean"]:
            return op, "max_mean"
        if roots == ["mean", "max"]:
            return op, "mean_max"
    return None


def kernel_parameter(
    log: ProbeLog, found: FoundGate, stack: Op, parameters: dict[int, str]
) -> tuple[str, tuple[int, ...]] | None:
    """The name and shape of the convolution weight applied to the (mean, max) stack, if a parameter."""
    for op in ancestors(log, found.preactivation, found.gated, found.owner) if found.preactivation is not None else []:
        if op.name in CONV_OPS and len(op.inputs) >= 2 and op.inputs[0] is stack.outputs[0]:
            weight = op.inputs[1]
            name = parameters.get(id(weight))
            if name is not None and weight.dim() >= 4 and weight.shape[0] == 1 and weight.shape[1] == 2:
                return name, tuple(weight.shape)
    return None


def uses_conv1d(ops: list[Op]) -> bool:
    """ECA's sign: a 1-D convolution across the pooled channel vector."""
    return any(op.name == "conv1d" for op in ops)
