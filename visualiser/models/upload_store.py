"""Whose uploaded networks are in memory, who may use them, and which go when memory runs short.

An owner is whoever uploaded a checkpoint: a browser session or an API client (the app passes Gradio's
session hash), or ``None`` for the process itself (the CLI, a notebook), whose registrations are everyone's
and never evicted. An owned network is listed to, and usable by, its owner only. The same file uploaded
by two owners is built once and shared (what a network computes does not depend on who asked).

Two budgets bound the memory (each network costs its float32 bytes): per owner, at most
``VISUALISER_MAX_UPLOADED_MODELS`` networks (default 2) and ``VISUALISER_UPLOADS_MB_PER_SESSION`` MB
(default 800), and for the whole process ``VISUALISER_UPLOADS_MB`` MB (default 1600). Making room evicts
the owner's own least recently used network first, then, for the process budget, anyone's; an evicted name
is remembered (for its owner: "upload it again"). Torch-free: only bookkeeping.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from visualiser.errors import WeightsError

MAX_UPLOADED_ENV = "VISUALISER_MAX_UPLOADED_MODELS"
SESSION_MB_ENV = "VISUALISER_UPLOADS_MB_PER_SESSION"
TOTAL_MB_ENV = "VISUALISER_UPLOADS_MB"
DEFAULT_MAX_UPLOADED = 2
DEFAULT_SESSION_MB = 800  # a ResNet-101 in float32 (~180 MB) four times over
DEFAULT_TOTAL_MB = 1600
REMEMBERED_EVICTIONS = 4096


@dataclass(frozen=True)
class Budget:
    """The limits in force: networks and bytes per owner, bytes for the whole process."""

    per_owner_count: int
    per_owner_bytes: int
    total_bytes: int


def _positive(env: str, default: float, kind: type) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise WeightsError(f"{env} must be a {'whole ' if kind is int else ''}number, not {raw!r}") from None
    if not value > 0:
        raise WeightsError(f"{env} must be positive, not {raw!r}")
    return value


def budget() -> Budget:
    """The budget from the environment (read on each call, so a test or a deployer can change it)."""
    return Budget(
        int(_positive(MAX_UPLOADED_ENV, DEFAULT_MAX_UPLOADED, int)),
        int(_positive(SESSION_MB_ENV, DEFAULT_SESSION_MB, float) * 1_000_000),
        int(_positive(TOTAL_MB_ENV, DEFAULT_TOTAL_MB, float) * 1_000_000),
    )


@dataclass
class _Entry:
    owner: str | None
    net: Hashable  # the shared network this name uses
    nbytes: int
    last_used: float


class UploadStore:
    """Names → owner and shared network, with the budgets applied; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._nets: dict[Hashable, int] = {}  # network → its bytes
        self._reserved: dict[Hashable, int] = {}  # networks being built: their bytes, counted already
        self._evicted: OrderedDict[str, str | None] = OrderedDict()

    # -- who sees what ------------------------------------------------------------------------------------------

    def all_names(self) -> list[str]:
        """Every registered name, oldest first."""
        with self._lock:
            return list(self._entries)

    def names_of(self, owner: str | None) -> list[str]:
        """``owner``'s registered names, oldest first."""
        with self._lock:
            return [n for n, e in self._entries.items() if e.owner == owner]

    def visible(self, name: str, owner: str | None) -> bool:
        """Whether ``owner`` may use ``name`` (the process's own registrations are everyone's); marks it used."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None or (entry.owner is not None and entry.owner != owner):
                return False
            entry.last_used = time.monotonic()
            return True

    def evicted_from(self, name: str, owner: str | None) -> bool:
        """Whether ``name`` was ``owner``'s and has been dropped to make room."""
        with self._lock:
            return name in self._evicted and self._evicted[name] == owner and owner is not None

    def was_evicted(self, name: str) -> bool:
        """Whether ``name`` was registered and has been dropped (whoever owned it)."""
        with self._lock:
            return name in self._evicted and name not in self._entries

    def has_net(self, net: Hashable) -> bool:
        """Whether a name uses ``net``, or a build of it holds a reservation."""
        with self._lock:
            return net in self._nets or net in self._reserved

    # -- making room --------------------------------------------------------------------------------------------

    def reserve(self, owner: str | None, net: Hashable, nbytes: int, shown: str) -> list[str]:
        """Make room for ``owner`` to hold ``net`` (``nbytes``); returns the names to evict (already forgotten).

        Raises WeightsError when the network alone is over a budget. A network another owner holds costs the
        process nothing more; ``release`` undoes a reservation whose build failed.
        """
        if owner is None:
            with self._lock:
                self._reserved.setdefault(net, nbytes)
            return []
        limits = budget()
        if nbytes > limits.per_owner_bytes or nbytes > limits.total_bytes:
            cap = min(limits.per_owner_bytes, limits.total_bytes)
            raise WeightsError(
                f"{shown} needs {nbytes / 1e6:.0f} MB in memory once loaded; this server keeps at most "
                f"{cap / 1e6:.0f} MB of uploaded networks per visitor ({SESSION_MB_ENV}, {TOTAL_MB_ENV})"
            )
        with self._lock:
            victims: list[str] = []
            mine = sorted((e.last_used, n) for n, e in self._entries.items() if e.owner == owner)
            while mine and (
                len(mine) + 1 > limits.per_owner_count
                or sum(self._entries[n].nbytes for _, n in mine) + nbytes > limits.per_owner_bytes
            ):
                victims.append(mine.pop(0)[1])
            new_net = net not in self._nets and net not in self._reserved
            others = sorted((e.last_used, n) for n, e in self._entries.items() if e.owner is not None)
            others = [(t, n) for t, n in others if n not in victims]
            while new_net and self._in_use(victims) + nbytes > limits.total_bytes and others:
                victims.append(others.pop(0)[1])
            if new_net and self._in_use(victims) + nbytes > limits.total_bytes:
                raise WeightsError(
                    f"this server's memory for uploaded networks is full ({self._in_use(victims) / 1e6:.0f} MB "
                    f"of {limits.total_bytes / 1e6:.0f} MB, networks registered by the server itself); "
                    f"{shown} cannot be loaded now"
                )
            self._forget(victims)
            if new_net:
                self._reserved[net] = nbytes
            return victims

    def _in_use(self, leaving: list[str]) -> int:
        """Bytes held after ``leaving`` go: networks still used by a remaining name, plus reservations."""
        kept = {e.net for n, e in self._entries.items() if n not in leaving}
        return sum(b for net, b in self._nets.items() if net in kept) + sum(self._reserved.values())

    def release(self, net: Hashable) -> None:
        """Drop a reservation (the build failed)."""
        with self._lock:
            self._reserved.pop(net, None)

    def admit(self, name: str, owner: str | None, net: Hashable, nbytes: int) -> None:
        """Record ``name`` (after ``reserve``), its network now built."""
        with self._lock:
            self._nets[net] = self._reserved.pop(net, self._nets.get(net, nbytes))
            self._entries[name] = _Entry(owner, net, nbytes, time.monotonic())
            self._evicted.pop(name, None)

    def forget(self, names: list[str]) -> list[Hashable]:
        """Forget ``names`` (remembered as evicted); returns the networks no name uses any more."""
        with self._lock:
            return self._forget(names)

    def _forget(self, names: list[str]) -> list[Hashable]:
        orphans = []
        for name in names:
            entry = self._entries.pop(name, None)
            if entry is None:
                continue
            self._evicted[name] = entry.owner
            while len(self._evicted) > REMEMBERED_EVICTIONS:
                self._evicted.popitem(last=False)
            if not any(e.net == entry.net for e in self._entries.values()):
                self._nets.pop(entry.net, None)
                orphans.append(entry.net)
        return orphans
