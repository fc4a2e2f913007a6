"""The run-time rule, read off one probe log: who multiplies what by a sigmoid-family gate, and where a
recording pass can take that gate and its internals.

**Gates.** A gate is the output of ``sigmoid`` / ``F.sigmoid`` / ``torch.special.expit`` / ``hardsigmoid``
(or the hard-sigmoid written out as ``relu6(x + 3) / 6``, also with pytorchcv's in-place
``F.relu6(x + 3.0, inplace=True) / 6.0``), possibly reshaped (``view``, ``unsqueeze``, ``expand_as``, ...),
that multiplies a 4-D / 5-D feature map ``y`` and is shaped like one of:

* a channel gate: one value per channel of ``y``, e.g. (N, C, 1, 1[, 1]), (N, C) or (N, 1, C);
* a spatial gate: one value per position of ``y``: (N, 1, H, W) / (N, 1, T, H, W).

A gate the size of ``y`` itself (SiLU / Swish, GLU) is an activation, not attention, and softmax is not
in the family, so a softmax over channels is never reported. The module the gate belongs to (its *owner*):

1. ``input``: the call in which the multiply ran, when ``y`` is one of that call's inputs;
2. ``returns``: else a submodule called there that took ``y`` and returned the gate (CBAM.PyTorch-style
   ``self.ca(out) * out``);
3. ``chain``: else that call, when ``y`` is what an earlier gate multiply in it produced (channel then
   spatial in one forward);
4. ``inline``: else that call still, the gate being applied to an intermediate map of its forward.

**Points.** Preference order for every tensor: the output of a submodule that produced it (a forward hook),
the input of a submodule it was fed to (a pre-hook), one map of a concatenation that is either of those
(CBAM's (max, mean) stack going into its conv), and only for owners recorded with the function mode
anyway, the result of the n-th call of the torch function that made it. Every candidate is checked
against the probe's tensor, value for value, so a point always yields the very tensor the gate was.

**Internals** follow the data flow back from the gate's pre-activation to the gated map ``y``: for a
channel gate, ``sigmoid(a + b)`` with ``a`` from an average pool of ``y`` and ``b`` from a max pool is
CBAM's channel half (``avg_logits``, ``max_logits``); a gate from the average pool alone is SE (its
``squeeze``), or ECA when a 1-D convolution runs across the pooled channels. For a spatial gate: the
channel-mean and channel-max maps of ``y``, their concatenation (whose order names the kernel's input
maps), the convolution weight applied to it, and the logits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from visualiser.capture.probe import Call, Op, ProbeLog

Role = Literal["channel", "spatial"]
Where = Literal["output", "input", "op"]


@dataclass(frozen=True)
class Point:
    """One tensor inside the owner's call: ``where`` of ``module`` (``number``-th call), item ``item``.

    The output or input of a submodule (a forward hook or pre-hook), or the result of the n-th call of one
    torch function inside the owner's forward (the function mode, for gates computed with ``torch.sigmoid``
    / ``F.sigmoid`` in code, where no submodule exists to hook). Paths, never modules: a point stays valid
    for the model it was made for and costs nothing to keep.
    """

    module: str  # module path in the model ("" is the model itself)
    where: Where
    number: int = 0  # which call of ``module`` (or of torch function ``op``) inside the owner's call
    item: int = 0  # index among that call's flattened tensors
    op: str = ""  # for where == "op": the torch function's name
    channels: tuple[int, int] | None = None  # a slice of dim 1 (one map of a concatenated stack)
    calls: int = 1  # how often ``module`` ran in the whole probe pass (1: a hook needs no call counting)

    @property
    def functional(self) -> bool:
        """Whether taking it needs the function mode (no submodule carries the tensor)."""
        return self.where == "op"

    def describe(self, owner: str) -> str:
        """In words, e.g. "forward hook on layer1.0.se.gate" or "function mode: sigmoid call #1 in ..."."""
        which = f" (call #{self.number + 1})" if self.number else ""
        part = "" if self.channels is None else f", channels {self.channels[0]}:{self.channels[1]}"
        if self.where == "op":
            return f"function mode inside {owner or 'the model'}: result of {self.op} call #{self.number + 1}{part}"
        what = "forward hook on" if self.where == "output" else "forward pre-hook (input) on"
        return f"{what} {self.module or 'the model'}{which}{part}"


SIGMOID_FAMILY = {
    "sigmoid": "sigmoid",
    "sigmoid_": "sigmoid",
    "special_expit": "sigmoid",
    "expit": "sigmoid",
    "hardsigmoid": "hard-sigmoid",
}
HARD_SIGMOID_WRITTEN = "hard-sigmoid written as relu6(x + 3) / 6"
MUL_OPS = frozenset({"mul", "mul_", "multiply", "__mul__", "__rmul__", "__imul__"})
ADD_OPS = frozenset({"add", "add_", "__add__", "__radd__", "__iadd__"})
VIEW_OPS = frozenset(
    {"view", "view_as", "reshape", "reshape_as", "unsqueeze", "squeeze", "flatten", "unflatten", "expand",
     "expand_as", "broadcast_to", "transpose", "permute", "movedim", "t", "contiguous", "clone", "__getitem__"}
)  # fmt: skip
_CLIPS = frozenset({"relu6", "hardtanh", "clamp", "clip", "clamp_", "clip_"})

RULES = {
    "input": "multiplies its input by the gate",
    "returns": "returns the gate, which its caller multiplies with this module's input",
    "chain": "multiplies the output of its previous gate by this gate",
    "inline": "multiplies an intermediate feature map of its forward by the gate",
}


@dataclass(eq=False)
class FoundGate:
    """One gate multiply seen in the probe: who owns it, what it gated, where the gate came from."""

    role: Role
    owner: Call
    rule: str  # a key of RULES
    mul: Op
    gated: torch.Tensor  # the feature map y
    chain: list[torch.Tensor]  # the multiply's operand, then each tensor it was reshaped from, the gate last
    gate_op: Op  # the op that produced the gate
    function: str  # "sigmoid", "hard-sigmoid", ...
    preactivation: torch.Tensor | None  # the gate function's input (logits)

    @property
    def gate(self) -> torch.Tensor:
        """The gate function's own output."""
        return self.chain[-1]

    @property
    def dims(self) -> int:
        """2 for images, 3 for clips."""
        return self.gated.dim() - 2


def view_chain(log: ProbeLog, t: torch.Tensor) -> list[torch.Tensor]:
    """``t``, then each tensor it is a reshaped copy or view of, back to the first that is not."""
    chain = [t]
    op = log.producer.get(id(t))
    while op is not None and op.name in VIEW_OPS and op.inputs and len(chain) < 32:
        chain.append(op.inputs[0])
        op = log.producer.get(id(op.inputs[0]))
    return chain


def written_before(log: ProbeLog, t: torch.Tensor, op: Op) -> Op | None:
    """The last op that wrote ``t`` before ``op`` ran (an in-place op's input is also its output)."""
    return next((w for w in reversed(log.writers.get(id(t), [])) if w.index < op.index), None)


def _has(values: tuple[object, ...], wanted: float) -> bool:
    return any(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isclose(v, wanted) for v in values)


def gate_source(log: ProbeLog, gate: torch.Tensor) -> tuple[Op, str, torch.Tensor | None] | None:
    """(op, function name, pre-activation) if ``gate`` is a sigmoid-family output, else None."""
    op = log.producer.get(id(gate))
    if op is None:
        return None
    if op.name in SIGMOID_FAMILY:
        return op, SIGMOID_FAMILY[op.name], op.inputs[0] if op.inputs else None
    scaled = (op.name in ("div", "div_", "true_divide", "__truediv__") and _has(op.scalars, 6.0)) or (
        op.name in MUL_OPS and len(op.inputs) == 1 and _has(op.scalars, 1 / 6)
    )
    if not scaled or not op.inputs:
        return None
    clip = written_before(log, op.inputs[0], op)
    if clip is None or clip.name not in _CLIPS or not clip.inputs:
        return None
    shift = written_before(log, clip.inputs[0], clip)  # relu6(x + 3, inplace=True) wrote over x + 3 itself
    if shift is None or shift.name not in ADD_OPS or len(shift.inputs) != 1 or not _has(shift.scalars, 3.0):
        return None
    return op, HARD_SIGMOID_WRITTEN, shift.inputs[0]


def gate_role(gate: torch.Tensor, y: torch.Tensor) -> Role | None:
    """The role ("channel" or "spatial") if ``gate`` is shaped to gate feature map ``y`` that way, else None."""
    if not (gate.is_floating_point() and y.is_floating_point()) or y.dim() not in (4, 5) or gate.dim() < 2:
        return None
    channels, spatial = int(y.shape[1]), tuple(int(s) for s in y.shape[2:])
    if gate.shape[0] != y.shape[0] or channels < 2 or math.prod(spatial) < 2:
        return None
    rest = tuple(int(s) for s in gate.shape[1:])
    if tuple(s for s in rest if s != 1) == (channels,):
        return "channel"
    if rest in ((1, *spatial), spatial):
        return "spatial"
    return None


def _owner(
    log: ProbeLog, mul: Op, y: torch.Tensor, chain: list[torch.Tensor], gated_here: list[torch.Tensor]
) -> tuple[Call, str]:
    frame = mul.call
    assert frame is not None
    if any(t is y for t in frame.inputs):
        return frame, "input"
    returning = [
        call
        for t in chain
        for call, _ in log.made_by_call.get(id(t), [])
        if call is not frame and frame.contains(call) and any(u is y for u in call.inputs)
    ]
    if returning:
        return min(returning, key=lambda c: c.order), "returns"  # the outermost such submodule
    if any(t is y for t in gated_here):
        return frame, "chain"
    return frame, "inline"


def find_gates(log: ProbeLog, skip: Callable[[Call], bool]) -> list[FoundGate]:
    """Every gate multiply of the probe pass, in forward order (calls where ``skip`` is true excluded)."""
    found: list[FoundGate] = []
    gated_in: dict[int, list[torch.Tensor]] = {}
    for op in log.ops:
        if op.name not in MUL_OPS or len(op.inputs) != 2 or op.call is None or skip(op.call):
            continue
        for y, operand in ((op.inputs[0], op.inputs[1]), (op.inputs[1], op.inputs[0])):
            chain = view_chain(log, operand)
            source = gate_source(log, chain[-1])
            role = gate_role(chain[-1], y) if source is not None else None
            if source is None or role is None:
                continue
            gated_here = gated_in.setdefault(id(op.call), [])
            owner, rule = _owner(log, op, y, chain, gated_here)
            if skip(owner):
                break
            gate_op, function, pre = source
            found.append(FoundGate(role, owner, rule, op, y, chain, gate_op, function, pre))
            gated_here.extend(op.outputs)
            break
    return found


# --- where each tensor is taken ----------------------------------------------------------------------

MEAN_OPS = frozenset({"mean", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "avg_pool2d", "avg_pool3d"})
MAX_OPS = frozenset({"amax", "max", "adaptive_max_pool2d", "adaptive_max_pool3d", "max_pool2d", "max_pool3d"})
CAT_OPS = frozenset({"cat", "concat", "concatenate"})
CONV_OPS = frozenset({"conv2d", "conv3d"})


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
