"""``watch(model)``: the one recorder. The gates of any network inside a ``with``, the very tensors it multiplied by.

Discovery (``discover``) says, once per model, which modules own gates and where each gate and internal is
taken: read from structure for this project's modules, found by one probe pass for anything else; the watch
records both the same way. Inside the ``with`` a recording pass costs a hook per point: on the submodule that
carries each tensor (a ``Tap`` of ours, a timm ``gate``, a torchvision ``scale_activation``) and, only for
owners whose points need call counting, a pre-hook and an always-called forward hook on the owner (they open
and close its call) and, for gates computed in code (``F.sigmoid(...)``), a ``TorchFunctionMode`` active
between those two hooks that takes the n-th call of the gate function.

Everything is owned (``OwnedHooks``): hooks act only for calls from the entering context and are removed in
``__exit__``, also when the forward raised; records of concurrent requests never mix. Given ``overrides``,
the same points replace the gates (identity: every gate 1; mute: chosen channels 0): an intervention, for the
calls of this context only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from visualiser.capture.discover import Discovery, discover
from visualiser.capture.owned import OwnedHooks
from visualiser.capture.plans import BlockPlan
from visualiser.capture.probe import flat_tensors
from visualiser.capture.rules import Point, Role
from visualiser.capture.wiring import Carrier, Key, Override, Owner, forced_gate, replace_item, wiring
from visualiser.result import BlockAttention, FoundModule

_STAGE_RE = re.compile(r"layer(\d+)\.(\d+)\.")
_UNIT_RE = re.compile(r"stage(\d+)\.unit(\d+)\.")  # pytorchcv: features.stage2.unit3 (both 1-based)
_BLOCKS_RE = re.compile(r"blocks\.(\d+)\.(\d+)\.")  # timm EfficientNet / MobileNet: blocks.1.0 (0-based)


class _Frame:
    """One running call of an owner: how many calls of each carrier it has seen, and what it took."""

    __slots__ = ("counts", "owner", "values")

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.counts: dict[object, int] = {}
        self.values: dict[Key, np.ndarray] = {}


class _GateMode(TorchFunctionMode):
    """Active only inside functional owners' calls: hands the gate functions' results to the watch."""

    def __init__(self, watch: Watch) -> None:
        super().__init__()
        self.watch = watch

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        return self.watch._on_op(name, out) if name in self.watch._op_names else out


class Watch:
    """Context manager recording every found gate of ``model``'s forward passes made inside it."""

    def __init__(
        self,
        model: nn.Module,
        example: torch.Tensor | tuple[Any, ...] | None = None,
        discovery: Discovery | None = None,
        overrides: Mapping[str, Override] | None = None,
    ) -> None:
        self.model = model
        self._example = example
        self.discovery = discovery
        self._overrides = dict(overrides or {})
        self._records: dict[str, dict[Key, np.ndarray]] = {}  # owner → what its last call took, CPU float32
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stack = ExitStack()
        self._op_names: frozenset[str] = frozenset()
        self._owners: dict[str, Owner] = {}
        self._kernels: dict[str, nn.Parameter] = {}
        self._forced: dict[tuple[str, Role], Override] = {}
        self._installed = False

    # --- entering and leaving -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        self._records = {}
        hooks = self._stack.enter_context(OwnedHooks())
        try:
            if self.discovery is None and self._example is not None:
                self.discovery = discover(self.model, self._example)
            if self.discovery is not None:
                self._install(hooks)
            else:
                hooks.forward_pre_hook(self.model, lambda _m, inputs: self._discover_first(hooks, inputs))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._stack.__exit__(exc_type, exc, tb)
        finally:
            frames, modes = self._thread_state()
            frames.clear()
            while modes:  # a forward stopped by KeyboardInterrupt skips the always-called hooks
                modes.pop().__exit__(None, None, None)

    def _discover_first(self, hooks: OwnedHooks, inputs: tuple[Any, ...]) -> None:
        """Lazy discovery, on the first forward inside the ``with``: probe with that call's input."""
        if self._installed or getattr(self._local, "probing", False):
            return
        example = tuple(inputs)
        self._local.probing = True
        try:
            self.discovery = discover(self.model, example)
        finally:
            self._local.probing = False
        self._install(hooks)
        root = self._owners.get("")
        if root is not None and not root.direct:  # the model's own pre-hooks already ran for this call
            self._enter(root)

    def _install(self, hooks: OwnedHooks) -> None:
        assert self.discovery is not None
        self._installed = True
        forced = [self.discovery.plan(name) for name in self._overrides]  # an unknown block: InputError
        self._forced = {(g.owner, g.role): self._overrides[p.name] for p in forced for g in p.gates}
        wired = wiring(self.model, self.discovery)
        self._owners, self._op_names, self._kernels = wired.owners, wired.op_names, wired.kernels
        framed: set[Carrier] = set()
        for owner in self._owners.values():
            if owner.direct:
                self._hook_direct(hooks, owner, wired.carriers)
                continue
            hooks.forward_pre_hook(owner.module, lambda _m, _i, owner=owner: self._enter(owner))
            hooks.forward_hook(owner.module, lambda _m, _i, out, owner=owner: self._leave(owner, out), True)
            framed.update(owner.on_modules)
        for ident in framed:
            module, where = wired.carriers[ident], ident[1]
            if where == "output":
                hooks.forward_hook(module, lambda _m, _i, out, k=ident: self._on_module(k, out))
            else:
                hooks.forward_pre_hook(module, lambda _m, args, k=ident: self._on_module(k, args))

    def _hook_direct(self, hooks: OwnedHooks, owner: Owner, carriers: dict[Carrier, nn.Module]) -> None:
        """Hooks that record straight into the owner's records (nothing to count, nothing traced)."""
        entries = [(owner.module, "output", e) for e in owner.on_itself]
        for carrier, points in owner.on_modules.items():
            entries += [(carriers[carrier], carrier[1], e) for e in points]
        for module, where, (key, point) in entries:

            def take(value: Any, owner: Owner = owner, key: Key = key, point: Point = point) -> Any:
                records = self._records.setdefault(owner.path, {})
                return self._grab(records, owner.path, key, point, value)

            if where == "output":
                hooks.forward_hook(module, lambda _m, _i, out, take=take: take(out))
            else:
                hooks.forward_pre_hook(module, lambda _m, args, take=take: take(args))

    # --- per-thread state -----------------------------------------------------------------------------
    def _thread_state(self) -> tuple[list[_Frame], list[_GateMode]]:
        local = self._local
        if not hasattr(local, "frames"):
            local.frames, local.modes, local.busy = [], [], False
        return local.frames, local.modes

    # --- hooks ----------------------------------------------------------------------------------------
    def _enter(self, owner: Owner) -> None:
        frames, modes = self._thread_state()
        frames.append(_Frame(owner))
        if owner.functional:
            mode = _GateMode(self)
            mode.__enter__()
            modes.append(mode)

    def _leave(self, owner: Owner, output: Any) -> Any:
        frames, modes = self._thread_state()
        frame = next((f for f in reversed(frames) if f.owner is owner), None)
        if frame is None:
            return None
        replaced = self._take(frame, owner.on_itself, 0, output) if output is not None else None
        frames.remove(frame)
        if owner.functional and modes:
            modes.pop().__exit__(None, None, None)
        if output is not None:
            with self._lock:
                self._records[owner.path] = frame.values  # a module called twice keeps its last call
        return replaced

    def _on_module(self, key: tuple[int, str], value: Any) -> Any:
        frames, _ = self._thread_state()
        frame = next((f for f in reversed(frames) if key in f.owner.on_modules), None)
        if frame is None:
            return None
        number = frame.counts.get(key, 0)
        frame.counts[key] = number + 1
        return self._take(frame, frame.owner.on_modules[key], number, value)

    def _on_op(self, name: str, out: Any) -> Any:
        frames, _ = self._thread_state()
        if self._local.busy:
            return out
        for frame in frames:
            points = frame.owner.on_ops.get(name)
            if not points:
                continue
            number = frame.counts.get(name, 0)
            frame.counts[name] = number + 1
            replaced = self._take(frame, points, number, out)
            out = out if replaced is None else replaced
        return out

    def _take(self, frame: _Frame, points: list[tuple[Key, Point]], number: int, value: Any) -> Any:
        """Record the points due at this call; return the value with a forced gate in place, if any."""
        replaced = None
        for key, point in points:
            if point.number == number:
                now = self._grab(frame.values, frame.owner.path, key, point, value if replaced is None else replaced)
                replaced = now if now is not None else replaced
        return replaced

    def _grab(self, into: dict[Key, np.ndarray], owner: str, key: Key, point: Point, value: Any) -> Any:
        """Copy one point's tensor into ``into``; return ``value`` with a forced gate in place, if one is due."""
        if not self._op_names:  # no function mode in this watch: nothing to keep from seeing our own ops
            return self._copy(into, owner, key, point, value)
        self._local.busy = True
        try:
            return self._copy(into, owner, key, point, value)
        finally:
            self._local.busy = False

    def _copy(self, into: dict[Key, np.ndarray], owner: str, key: Key, point: Point, value: Any) -> Any:
        t = value if isinstance(value, torch.Tensor) else flat_tensors(value)[point.item]
        if point.channels is not None:
            t = t[:, point.channels[0] : point.channels[1]]
        override = self._forced.get((owner, key[0])) if self._forced and key[1] == "gate" else None
        new = forced_gate(t, key[0], override) if override is not None else None
        replaced = None
        if new is not None:
            replaced, t = replace_item(value, point.item, new), new
        into[key] = t.detach().to("cpu", torch.float32, copy=True).numpy()  # a copy: later in-place ops miss it
        return replaced

    # --- results --------------------------------------------------------------------------------------
    @property
    def found(self) -> tuple[FoundModule, ...]:
        """Every attention block found (empty until discovery ran)."""
        return self.discovery.found if self.discovery is not None else ()

    @property
    def message(self) -> str:
        """The discovery's summary, or the sentence saying what was looked for."""
        return self.discovery.message if self.discovery is not None else "no forward pass has run yet"

    def blocks(self, index: int = 0) -> tuple[BlockAttention, ...]:
        """One ``BlockAttention`` per block used in the last pass, for batch element ``index``, in forward order."""
        if self.discovery is None:
            return ()
        blocks = (self._block(plan, index, order) for order, plan in enumerate(self.discovery.plans))
        return tuple(b for b in blocks if b is not None)

    def _block(self, plan: BlockPlan, index: int, order: int) -> BlockAttention | None:
        values: dict[str, np.ndarray | None] = {}
        kernel, spatial_order = None, None
        for gate in plan.gates:
            taken = self._records.get(gate.owner, {})
            if (gate.role, "gate") not in taken:
                continue
            values[f"{gate.role}_gate"] = _array(taken[(gate.role, "gate")], gate.role, gate.dims, index)
            for name, _ in gate.internals:
                if (gate.role, name) in taken:
                    values[name] = _array(taken[(gate.role, name)], _role_of(name), gate.dims, index)
            if gate.kernel is not None:
                kernel = self._kernels[gate.kernel].detach().to("cpu", torch.float32, copy=True).numpy()[0]
                spatial_order = gate.order
        if not values:
            return None  # not called in this pass
        stage, block = stage_and_block(plan.name, order)
        channel = values.get("channel_gate")
        return BlockAttention(
            name=plan.name,
            stage=stage,
            block=block,
            kind=plan.kind,  # type: ignore[arg-type]
            channels=int(channel.shape[0]) if channel is not None else 0,
            channel_gate=channel,
            squeeze=values.get("squeeze"),
            avg_logits=values.get("avg_logits"),
            max_logits=values.get("max_logits"),
            spatial_gate=values.get("spatial_gate"),
            spatial_logits=values.get("spatial_logits"),
            mean_map=values.get("mean_map"),
            max_map=values.get("max_map"),
            spatial_kernel=kernel,
            spatial_order=spatial_order,
        )


def stage_and_block(name: str, order: int) -> tuple[int, int]:
    """(1-based stage, 0-based block) from a ResNet name such as ``layer3.1.se``; (0, order) otherwise.

    pytorchcv (``stage2.unit3``) and timm EfficientNet / MobileNet (``blocks.1.0``) names are read too.
    """
    if match := _STAGE_RE.search(name + "."):
        return int(match.group(1)), int(match.group(2))
    if match := _UNIT_RE.search(name + "."):
        return int(match.group(1)), int(match.group(2)) - 1
    if match := _BLOCKS_RE.search(name + "."):
        return int(match.group(1)) + 1, int(match.group(2))
    return 0, order


def _role_of(name: str) -> Role:
    return "channel" if name in ("squeeze", "avg_logits", "max_logits") else "spatial"


def _array(taken: np.ndarray, role: Role, dims: int, index: int) -> np.ndarray:
    """Batch element ``index`` as (C,) for channel tensors, (H, W) / (T, H, W) for spatial ones; read-only."""
    if role == "channel":
        one = taken.reshape(taken.shape[0], -1)[index]
    else:
        one = taken[index]
        if one.ndim == dims + 1:
            one = one[0]
    one = one.copy()  # the element alone, not a view keeping the whole batch
    one.flags.writeable = False
    return one


def watch(
    model: nn.Module,
    example: torch.Tensor | tuple[Any, ...] | None = None,
    discovery: Discovery | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> Watch:
    """Record the attention gates of any ``model`` in the forward passes made inside the ``with``.

    ``with watch(model) as w: model(x)`` then ``w.blocks(0)`` gives the frozen ``BlockAttention`` records
    of batch element 0 and ``w.found`` the ``FoundModule`` list. Discovery runs once per model (on
    ``example`` if given, else on the first forward's input) and is cached; pass ``discovery=discover(model)``
    to record this project's modules with no probe pass. ``overrides`` (block name → ``("identity", ())`` or
    ``("mute", channels)``) forces those blocks' gates for the calls of this context: an intervention.
    """
    return Watch(model, example, discovery, overrides)
