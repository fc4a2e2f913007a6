"""The run-time rule: which module multiplies which tensor by a sigmoid-family gate, read off one probe log.

A gate is the output of ``sigmoid`` / ``F.sigmoid`` / ``torch.special.expit`` / ``hardsigmoid`` (or the
hard-sigmoid written out as ``relu6(x + 3) / 6``), possibly reshaped (``view``, ``unsqueeze``,
``expand_as``, ...), that multiplies a 4-D / 5-D feature map ``y`` and is shaped like one of:

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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from visualiser.capture.plans import Role
from visualiser.capture.trace import Call, Op, ProbeLog

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
    clip = log.producer.get(id(op.inputs[0]))
    if clip is None or clip.name not in _CLIPS or not clip.inputs:
        return None
    shift = log.producer.get(id(clip.inputs[0]))
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
