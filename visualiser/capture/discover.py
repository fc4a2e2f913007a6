"""Discovery: which modules of any ``nn.Module`` are attention, and how each gate is recorded; once per model.

Three sources, combined:

1. this project's own ``AttentionModule``s, recorded through their taps as in our networks;
2. one probe forward pass (``trace.probe``) read by the run-time rule (``gatefind``): who multiplies a
   feature map by a sigmoid-family gate, where that gate and its internals can be taken (``locate``,
   ``planner``);
3. the known layouts (``layouts``), matched by structure, which name what the probe found, and are
   listed as notes when a module has a known layout but did not gate anything in the probe pass.

The result is cached per model (weakly: it goes with the model) and per input rank, so requests after
the first pay nothing for it. ``Discovery.seconds`` is what the probe and the analysis cost.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from visualiser.capture.gatefind import find_gates
from visualiser.capture.layouts import known_layouts
from visualiser.capture.planner import ROOT_NAME, block_plans
from visualiser.capture.plans import BlockPlan, GatePlan
from visualiser.capture.recorder import attention_modules
from visualiser.capture.trace import Call, ProbeLog, probe
from visualiser.errors import InputError
from visualiser.models.layers import CBAM, AttentionModule, SpatialAttention
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
    feature_layer: str | None  # the last 4-D (5-D) feature map's module: the Grad-CAM target
    output: str  # what the network returns, in words
    num_classes: int | None  # K when it returns (N, K) scores
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    input_dims: int = 4

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

    @property
    def has_own_modules(self) -> bool:
        """Whether any block is one of this project's modules (recorded by the tap recorder)."""
        return any(p.ours for p in self.plans)


def _describe(value: Any) -> tuple[str, int | None]:
    if isinstance(value, torch.Tensor):
        if value.dim() == 2 and value.is_floating_point():
            return f"class scores {tuple(value.shape)}", int(value.shape[1])
        return f"a tensor of shape {tuple(value.shape)}", None
    if isinstance(value, dict):
        return f"a dict with keys {', '.join(map(str, value))}", None
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items", None
    return f"a {type(value).__name__}", None


def _feature_layer(log: ProbeLog, dims: int) -> str | None:
    """The module whose output is the last 4-D (5-D) map with more than one position.

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
    return best.path if best is not None else None


def _gate_sentence(g: GatePlan, shape_note: str = "") -> str:
    return f"{g.owner or ROOT_NAME} {g.rule} ({g.gate_function}, {g.role}{shape_note})"


_OWN_INTERNALS = {
    "se": ("squeeze",),
    "eca": ("squeeze",),
    "cam": ("avg_logits", "max_logits"),
    "sam": ("mean_map", "max_map", "spatial_logits", "spatial_kernel"),
}


def _own_module(plan: BlockPlan, module: nn.Module, call: Call, layout: str) -> FoundModule:
    """One of this project's modules, as the tap recorder records it."""
    both = isinstance(module, CBAM)
    kind = "both" if both else "spatial" if isinstance(module, SpatialAttention) else "channel"
    parts = ("cam", "sam") if both else (str(getattr(module, "kind", "se")),)
    return FoundModule(
        name=plan.name,
        kind=kind,  # type: ignore[arg-type]
        attention=getattr(module, "kind", "se"),
        dims=int(getattr(module, "dims", 2)),
        channels=int(call.inputs[0].shape[1]) if call.inputs else 0,
        layout=layout,
        reason="structure: one of this project's attention modules (an AttentionModule with Tap children)",
        capture="forward hooks on its Tap children (the tap recorder)",
        members=(plan.name,),
        gates=("channel_gate", "spatial_gate") if both else (f"{kind}_gate",),
        internals=tuple(f for part in parts for f in _OWN_INTERNALS.get(part, ())),
    )


def _found_module(plan: BlockPlan, layouts: dict[str, str], model: nn.Module, calls: dict[str, Call]) -> FoundModule:
    if plan.ours:
        return _own_module(plan, model.get_submodule(plan.name), calls[plan.name], layouts.get(plan.name, ""))
    members = tuple(dict.fromkeys(g.owner for g in plan.gates))
    texts = [layouts[plan.name]] if plan.name in layouts else [layouts[p] for p in members if p in layouts]
    layout = " + ".join(texts) if texts else "unknown (found at run time)"
    if plan.gates[0].dims == 3:
        layout += " (3-D)"
    structure = f"structure: {layout}; " if texts else ""
    reason = structure + "run time: " + "; ".join(_gate_sentence(g) for g in plan.gates)
    capture = "; ".join(f"{g.role} gate: {g.gate.describe(g.owner)}" for g in plan.gates)
    channels = next((g.channels for g in plan.gates), 0)
    return FoundModule(
        name=plan.name,
        kind="both" if len(plan.gates) == 2 else plan.gates[0].role,
        attention=plan.kind,  # type: ignore[arg-type]
        dims=plan.gates[0].dims,
        channels=channels,
        layout=layout,
        reason=reason,
        capture=capture,
        members=members,
        gates=tuple(f"{g.role}_gate" for g in plan.gates),
        internals=tuple(f for g in plan.gates for f, _ in g.internals),
        unavailable=tuple(item for g in plan.gates for item in g.unavailable),
    )


def _inside(path: str, prefixes: set[str]) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes if p)


def analyse_probe(model: nn.Module, log: ProbeLog, input_dims: int) -> Discovery:
    """Turn one probe log into a discovery (no further forward pass)."""
    layouts = known_layouts(model)
    ours = {name for name, _ in attention_modules(model)}
    first_call: dict[str, Call] = {}
    for call in log.calls:
        first_call.setdefault(call.path, call)

    def inside_ours(call: Call) -> bool:
        return any(isinstance(c.module, AttentionModule) for c in call.ancestors())

    gates = find_gates(log, inside_ours)
    parameters = {id(p): n for n, p in model.named_parameters()}
    plans, notes = block_plans(log, gates, parameters)
    plans += [BlockPlan(name, first_call[name].order, ours=True) for name in ours if name in first_call]
    plans.sort(key=lambda p: p.order)
    recorded = {p.name for p in plans} | {g.owner for p in plans for g in p.gates}
    for path, layout in layouts.items():
        if path not in recorded and not _inside(path, ours) and not _inside(path, recorded - {""}):
            notes.append(f"{path}: has the layout '{layout}' but gated nothing in the probe pass; not recorded")
    output, classes = _describe(log.output)
    return Discovery(
        model_name=type(model).__name__,
        found=tuple(_found_module(p, layouts, model, first_call) for p in plans),
        plans=tuple(plans),
        feature_layer=_feature_layer(log, input_dims),
        output=output,
        num_classes=classes,
        notes=tuple(notes),
        input_dims=input_dims,
    )


_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[int, tuple[int, Discovery]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _fingerprint(model: nn.Module) -> int:
    return hash(tuple(id(m) for m in model.modules()))


def cached_discovery(model: nn.Module, input_dims: int | None = None) -> Discovery | None:
    """The discovery made for this model (and input rank, if given), if still valid (same modules)."""
    entries = _CACHE.get(model, {})
    entry = entries.get(input_dims) if input_dims is not None else next(iter(entries.values()), None)
    if entry is None or entry[0] != _fingerprint(model):
        return None
    return entry[1]


def discover(model: nn.Module, example: torch.Tensor | tuple[Any, ...], refresh: bool = False) -> Discovery:
    """The attention blocks of ``model`` for inputs like ``example`` (one probe pass, then cached).

    ``example`` only fixes shapes (a random tensor of the preprocessed size will do), or is the tuple of
    positional arguments for a network taking several; the probe runs in eval mode under no_grad and
    leaves BatchNorm statistics and the random stream untouched. The cache is per input rank.
    """
    args = example if isinstance(example, tuple) else (example,)
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors:
        raise InputError("discovery needs an example input tensor")
    dims = tensors[0].dim()
    if not refresh and (hit := cached_discovery(model, dims)) is not None:
        return hit
    with _LOCK:
        if not refresh and (hit := cached_discovery(model, dims)) is not None:
            return hit
        t0 = time.perf_counter()
        log = probe(model, *args)
        found = analyse_probe(model, log, dims)
        del log
        found = Discovery(**{**found.__dict__, "seconds": time.perf_counter() - t0})
        _CACHE.setdefault(model, {})[dims] = (_fingerprint(model), found)
        return found


def forget_discovery(model: nn.Module) -> None:
    """Drop what was discovered about ``model`` (after changing its modules)."""
    with _LOCK:
        _CACHE.pop(model, None)
