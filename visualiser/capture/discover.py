"""Discovery: which modules of a network are attention, and how each gate is recorded; made once per model.

Two sources of block plans (``plans``), one result:

1. **structure**: this project's own attention modules are read off the module tree (their ``Tap``
   children), with no forward pass;
2. **a probe** (only when an example input is given): one forward pass logged by a torch function mode
   (``probe``), read by the run-time rule (``rules``): who multiplies a feature map by a sigmoid-family gate,
   where that gate and its internals can be taken. The known layouts (``known_layouts``) name what it found
   and are listed as notes when a module has a known layout but gated nothing in the probe pass.

Our own networks need nothing but the first (``discover(model)``); a user's network is probed
(``discover(model, example)``), and our modules inside it still come from their structure. The result is
cached per model (weakly: it goes with the model) and per input rank, so requests after the first pay
nothing for it. ``Discovery.seconds`` is what making it cost.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from visualiser.capture.known_layouts import known_layout, known_layouts
from visualiser.capture.plans import ROOT_NAME, BlockPlan, block_plans, structure_plans
from visualiser.capture.probe import Call, ProbeLog, probe
from visualiser.capture.rules import find_gates
from visualiser.errors import InputError
from visualiser.result import FoundModule

LOOKED_FOR = (
    "looked for this project's SE / CBAM / ECA modules, and for any module whose forward multiplies a 4-D or "
    "5-D feature map by a sigmoid or hard-sigmoid gate shaped (N, C, 1, 1) or (N, C) (channel) or "
    "(N, 1, H, W) / (N, 1, T, H, W) (spatial), made by a submodule or in code (known layouts: timm, "
    "torchvision, pytorchcv, official CBAM, ultralytics); softmax, and gates the size of the feature map "
    "such as SiLU, are not attention gates"
)


@dataclass(frozen=True)
class Discovery:
    """What one network holds, and the plans a recording pass follows."""

    model_name: str
    found: tuple[FoundModule, ...]
    plans: tuple[BlockPlan, ...]
    feature_layer: str | None = None  # the last map over the input's positions: the Grad-CAM target
    output: str = ""  # what the network returns, in words ("" without a probe)
    num_classes: int | None = None  # K when it returns (N, K) scores
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    input_dims: int = 0  # the probe input's rank (0: read from structure alone)
    feature_note: str = ""  # why there is no automatic Grad-CAM target, when the probe found none

    @property
    def probed(self) -> bool:
        """Whether a probe pass looked at the whole network (not only this project's modules)."""
        return self.input_dims > 0

    @property
    def message(self) -> str:
        """One paragraph: the blocks found, or what was looked for when there are none."""
        if not self.found:
            return f"No attention module found in {self.model_name}: {LOOKED_FOR}."
        listed = "; ".join(f"{m.name} ({m.kind}, {m.attention})" for m in self.found)
        return f"{self.model_name}: {len(self.found)} attention block(s) found: {listed}."

    def plan(self, name: str) -> BlockPlan:
        """The block called ``name``; an ``InputError`` naming the blocks there are."""
        for plan in self.plans:
            if plan.name == name:
                return plan
        names = ", ".join(p.name for p in self.plans) or "none"
        raise InputError(f"{self.model_name} has no attention block {name!r}; its blocks: {names}")


def describe_output(value: Any) -> tuple[str, int | None]:
    """What a network returned, in words, and K when it is (N, K) class scores."""
    if isinstance(value, torch.Tensor):
        if value.dim() == 2 and value.is_floating_point():
            return f"class scores {tuple(value.shape)}", int(value.shape[1])
        return f"a tensor of shape {tuple(value.shape)}", None
    if isinstance(value, dict):
        return f"a dict with keys {', '.join(map(str, value))}", None
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items", None
    return f"a {type(value).__name__}", None


def _over_positions(t: torch.Tensor, x: torch.Tensor | None) -> bool:
    """Whether ``t``'s last two axes are the input's height and width divided by one stride (a feature map).

    A transformer's (N, heads, tokens, head_dim) tensor is 4-D too, but its last axes are not the image's rows
    and columns at any one stride.
    """
    if x is None or x.dim() != t.dim():
        return True  # nothing to compare with
    (h, w), (hi, wi) = (int(s) for s in t.shape[-2:]), (int(s) for s in x.shape[-2:])
    near = hi // max(h, 1)
    strides = range(max(1, near - 1), near + 3)
    return any(h in (hi // s, -(-hi // s)) and w in (wi // s, -(-wi // s)) for s in strides)


def _feature_layer(log: ProbeLog, dims: int) -> tuple[str | None, str]:
    """The module whose output is the last ``dims``-D map over the input's positions, or None and why not.

    The last ``dims``-D output with more than one position decides: a feature map is the target; a token or
    head-dim tensor (a vision transformer's) means the network has no map to take Grad-CAM from by itself.
    Modules called more than once (a shared ReLU) are passed over: a hook keeps only their last call.
    """
    calls_of: dict[int, int] = {}
    for call in log.calls:
        calls_of[id(call.module)] = calls_of.get(id(call.module), 0) + 1
    best: Call | None = None
    for call in log.calls:
        if call.parent is None or not call.outputs or call.finished < 0 or calls_of[id(call.module)] > 1:
            continue
        out = call.outputs[0]
        if out.dim() == dims and math.prod(out.shape[2:]) > 1 and (best is None or call.finished > best.finished):
            best = call
    if best is None:
        return None, ""
    x = next((t for t in log.calls[0].inputs if t.dim() == dims), None) if log.calls else None
    if _over_positions(best.outputs[0], x):
        return best.path, ""
    shape = tuple(best.outputs[0].shape)
    return None, (
        f"its last {dims}-D output, {best.path} {shape}, is not a map over the input's positions (tokens or "
        "head features, as in a transformer)"
    )


def _found_module(plan: BlockPlan, layouts: dict[str, str]) -> FoundModule:
    """How a block was found and is recorded, in words (the results list it for a user's network)."""
    members = tuple(dict.fromkeys(g.owner for g in plan.gates))
    path = _path(plan)
    texts = [layouts[path]] if path in layouts else [layouts[p] for p in members if p in layouts]
    layout = " + ".join(texts) if texts else "unknown (found at run time)"
    if plan.gates[0].dims == 3:
        layout += " (3-D)"
    sentences = [f"{g.owner or ROOT_NAME} {g.rule} ({g.gate_function}, {g.role})" for g in plan.gates]
    return FoundModule(
        name=plan.name,
        kind="both" if len(plan.gates) == 2 else plan.gates[0].role,
        attention=plan.kind,  # type: ignore[arg-type]
        dims=plan.gates[0].dims,
        channels=next((g.channels for g in plan.gates), 0),
        layout=layout,
        reason="; ".join(([f"structure: {layout}"] if texts else []) + sentences),
        capture="; ".join(f"{g.role} gate: {g.gate.describe(g.owner)}" for g in plan.gates),
        members=members,
        gates=tuple(f"{g.role}_gate" for g in plan.gates),
        internals=tuple(f for g in plan.gates for f, _ in g.internals),
        unavailable=tuple(item for g in plan.gates for item in g.unavailable),
    )


def _inside(path: str, prefixes: set[str]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes if p)


def _path(plan: BlockPlan) -> str:
    return "" if plan.name == ROOT_NAME else plan.name


def _from_structure(model: nn.Module) -> Discovery:
    plans = tuple(structure_plans(model))
    layouts = {path: text for p in plans if (text := known_layout(model.get_submodule(path := _path(p)))) is not None}
    return Discovery(type(model).__name__, tuple(_found_module(p, layouts) for p in plans), plans)


def _from_probe(model: nn.Module, log: ProbeLog, input_dims: int) -> Discovery:
    """Turn one probe log into a discovery (no further forward pass); our own modules come from structure."""
    first_call: dict[str, Call] = {}
    for call in log.calls:
        first_call.setdefault(call.path, call)
    own = [p for p in structure_plans(model) if _path(p) in first_call]  # modules the pass did not use are left out
    covered = {_path(p) for p in own}
    gates = find_gates(log, lambda call: any(c.path in covered for c in call.ancestors()))
    parameters = {id(p): n for n, p in model.named_parameters()}
    plans, notes = block_plans(log, gates, parameters)
    for plan in own:  # the position of its first call, and the channels it was given
        gates_seen = tuple(replace(g, channels=_channels_in(first_call.get(g.owner), g.channels)) for g in plan.gates)
        plans.append(replace(plan, order=first_call[_path(plan)].order, gates=gates_seen))
    plans.sort(key=lambda p: p.order)
    layouts = known_layouts(model)
    recorded = {_path(p) for p in plans} | {g.owner for p in plans for g in p.gates}
    for path, layout in layouts.items():
        if path not in recorded and not _inside(path, recorded - {""}):
            notes.append(f"{path}: has the layout '{layout}' but gated nothing in the probe pass; not recorded")
    output, classes = describe_output(log.output)
    target, why = _feature_layer(log, input_dims)
    return Discovery(
        model_name=type(model).__name__,
        found=tuple(_found_module(p, layouts) for p in plans),
        plans=tuple(plans),
        feature_layer=target,
        output=output,
        num_classes=classes,
        notes=tuple(notes),
        input_dims=input_dims,
        feature_note=why,
    )


def _channels_in(call: Call | None, known: int) -> int:
    if call is None or not call.inputs or call.inputs[0].dim() < 2:
        return known
    return int(call.inputs[0].shape[1])


_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[int, tuple[int, Discovery]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _fingerprint(model: nn.Module) -> int:
    """Which module objects the model holds: a discovery is valid while it does not change.

    Walked over ``_modules`` directly: it runs on every recorded pass, and is several times faster than
    ``model.modules()``.
    """
    seen = {id(model): None}
    todo = [model]
    for module in todo:
        for child in module._modules.values():
            if child is not None and id(child) not in seen:
                seen[id(child)] = None
                todo.append(child)
    return hash(tuple(seen))


def _cached(model: nn.Module, input_dims: int) -> Discovery | None:
    """The discovery made for this model and input rank (0: structure alone), if still valid (same modules)."""
    entry = _CACHE.get(model, {}).get(input_dims)
    if entry is None or entry[0] != _fingerprint(model):
        return None
    return entry[1]


def model_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` on the model's device, and in its floating-point type (CUDA, MPS, half precision)."""
    parameter = next(model.parameters(), None)
    if parameter is None:
        return x
    dtype = parameter.dtype if x.is_floating_point() and parameter.is_floating_point() else x.dtype
    return x.to(device=parameter.device, dtype=dtype)


def discover(
    model: nn.Module, example: torch.Tensor | tuple[Any, ...] | None = None, refresh: bool = False
) -> Discovery:
    """The attention blocks of ``model``: from structure alone, or also from one probe pass on ``example``.

    Without ``example``, this project's own modules are read off the module tree (no forward pass): all our
    networks need. With it, one probe pass finds any other network's gates too; ``example`` only fixes shapes
    (a random tensor of the preprocessed size will do), or is the tuple of positional arguments for a network
    taking several. The probe runs in eval mode under no_grad and leaves BatchNorm statistics and the random
    stream untouched. Cached per model and input rank.
    """
    if example is None:
        dims = 0
    else:
        args = example if isinstance(example, tuple) else (example,)
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        if not tensors:
            raise InputError("discovery needs an example input tensor")
        dims = tensors[0].dim()
    if not refresh and (hit := _cached(model, dims)) is not None:
        return hit
    with _LOCK:
        if not refresh and (hit := _cached(model, dims)) is not None:
            return hit
        t0 = time.perf_counter()
        if example is None:
            found = _from_structure(model)
        else:
            args = tuple(model_input(model, a) if isinstance(a, torch.Tensor) else a for a in args)
            log = probe(model, *args)
            found = _from_probe(model, log, dims)
            del log
        found = replace(found, seconds=time.perf_counter() - t0)
        _CACHE.setdefault(model, {})[dims] = (_fingerprint(model), found)
        return found
