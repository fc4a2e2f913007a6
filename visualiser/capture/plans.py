"""What discovery concluded, as plain data: where each gate and internal is taken in a recording pass.

A ``Point`` names a tensor inside one call of an *owner* module (the module found to gate its input):
the output or input of one of its submodules (a forward hook or pre-hook), or the result of the n-th
call of one torch function inside the owner's forward (the function mode, for gates computed with
``torch.sigmoid`` / ``F.sigmoid`` in code, where no submodule exists to hook). Plans hold module paths,
never modules, so they stay valid for the model they were made for and cost nothing to keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["channel", "spatial"]
Where = Literal["output", "input", "op"]


@dataclass(frozen=True)
class Point:
    """One tensor inside the owner's call: ``where`` of ``module`` (``number``-th call), item ``item``."""

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


@dataclass(frozen=True)
class GatePlan:
    """One gate of one owner module: where it and its internals are taken, and what it is."""

    role: Role
    owner: str  # path of the module whose call scopes every point
    gate: Point
    style: str  # "se", "cam", "eca", "gate" (channel) or "sam" (spatial)
    rule: str  # how it was recognised at run time, in words
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
    """One block of the results: our own attention module (Tap recorder) or found gates (one or two)."""

    name: str
    order: int  # position of its first call in the forward pass
    gates: tuple[GatePlan, ...] = ()  # channel gate first
    ours: bool = False

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
