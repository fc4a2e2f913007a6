"""What a ``torch.save`` pickle declares, read from its opcodes without building a single object.

``torch.load`` allocates every storage at the size its persistent id claims before it reads a byte of the
data (the legacy format always does), so a few kilobytes of pickle can ask for gigabytes. ``scan_pickle``
walks the opcodes with ``pickletools.genops`` (which decodes and never executes), keeps just enough of the
pickle machine's stack to see each persistent id ``('storage', <storage type>, key, location, numel, ...)``,
and sums what the unique storages would allocate. It reads at most ``max_bytes`` of pickle.
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass
from typing import IO

# Element sizes of the storage types torch.save names; an unknown one counts as 8 bytes (the widest real type).
_ELEMENT_BYTES = {
    "DoubleStorage": 8, "LongStorage": 8, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
    "FloatStorage": 4, "IntStorage": 4, "QInt32Storage": 4,
    "HalfStorage": 2, "BFloat16Storage": 2, "ShortStorage": 2,
    "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "QInt8Storage": 1, "QUInt8Storage": 1, "UntypedStorage": 1,
}  # fmt: skip
_WIDEST = 8
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}
_OTHER = object()  # any value the scan does not need to know


class PickleTooLong(Exception):
    """The pickle runs past the byte limit given to ``scan_pickle``."""


class PickleDamaged(Exception):
    """The opcodes do not form a pickle (truncated, unknown opcode, a stack that underflows)."""


@dataclass(frozen=True)
class PickleSummary:
    """The storages a pickle refers to: references (about one per tensor), unique storages, their bytes."""

    references: int
    storages: int
    declared_bytes: int
    storage_types: frozenset[str]


@dataclass(frozen=True)
class _Global:
    name: str  # "torch.FloatStorage"


class _Bounded:
    """A read-only view of a stream that refuses to go past ``limit`` bytes (genops reads through it)."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream, self.left = stream, limit

    def _take(self, data: bytes) -> bytes:
        self.left -= len(data)
        if self.left < 0:
            raise PickleTooLong
        return data

    def read(self, n: int = -1) -> bytes:
        return self._take(self.stream.read(n if 0 <= n <= self.left + 1 else self.left + 1))

    def readline(self) -> bytes:
        return self._take(self.stream.readline(self.left + 1))


def scan_pickle(stream: IO[bytes], max_bytes: int) -> PickleSummary:
    """Walk one pickle (up to its STOP) from ``stream``; raises ``PickleTooLong`` or ``PickleDamaged``."""
    stack: list[object] = []
    marks: list[int] = []
    memo: dict[object, object] = {}
    storages: dict[object, int] = {}
    types: set[str] = set()
    references = 0
    try:
        for opcode, arg, _ in pickletools.genops(_Bounded(stream, max_bytes)):
            name = opcode.name
            if name == "STOP":
                break
            if name == "PERSID" or name == "BINPERSID":
                pid = arg if name == "PERSID" else stack.pop()
                references += 1
                _storage(pid, storages, types)
                stack.append(_OTHER)
            else:
                _step(opcode, arg, stack, marks, memo)
    except PickleTooLong:
        raise
    except (ValueError, IndexError, KeyError, TypeError, EOFError, UnicodeDecodeError) as e:
        raise PickleDamaged(str(e) or type(e).__name__) from None
    return PickleSummary(references, len(storages), sum(storages.values()), frozenset(types))


def _storage(pid: object, storages: dict[object, int], types: set[str]) -> None:
    """Count one persistent id: ``('storage', <type>, key, location, numel[, view])``; others are left to torch."""
    if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] not in ("storage", b"storage"):
        return
    kind, key, numel = pid[1], pid[2], pid[4]
    type_name = kind.name.rpartition(".")[2] if isinstance(kind, _Global) else "?"
    types.add(type_name)
    size = numel * _ELEMENT_BYTES.get(type_name, _WIDEST) if isinstance(numel, int) and numel > 0 else 0
    if key is _OTHER or not isinstance(key, str | bytes):
        key = ("anonymous", len(storages))
    storages[key] = max(storages.get(key, 0), size)


def _step(opcode: pickletools.OpcodeInfo, arg: object, stack: list[object], marks: list[int], memo: dict) -> None:
    """One opcode's effect on the stack, from its declared stack effect; values kept only where the scan needs them."""
    name = opcode.name
    if name == "MARK":
        marks.append(len(stack))
    elif name in _MEMO_PUT:
        memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in _MEMO_GET:
        stack.append(memo.get(arg, _OTHER))
    elif name == "POP" and marks and marks[-1] == len(stack):
        marks.pop()  # POP of a bare mark
    elif name == "STACK_GLOBAL":
        qualname, module = stack.pop(), stack.pop()
        stack.append(_Global(f"{module}.{qualname}") if isinstance(module, str) else _OTHER)
    elif name == "GLOBAL":
        stack.append(_Global(str(arg).replace(" ", ".")))
    else:
        before = opcode.stack_before
        if pickletools.markobject in before:
            mark = marks.pop()
            items = stack[mark:]
            below = before.index(pickletools.markobject)
            del stack[mark - below :]
            if mark - below < 0:
                raise IndexError("stack underflow")
        else:
            if len(stack) < len(before):
                raise IndexError("stack underflow")
            items = stack[len(stack) - len(before) :] if before else []
            del stack[len(stack) - len(before) :]
        stack.extend(_results(name, arg, items, len(opcode.stack_after)))


def _results(name: str, arg: object, items: list[object], count: int) -> list[object]:
    if name in ("TUPLE", "TUPLE1", "TUPLE2", "TUPLE3"):
        return [tuple(items)]
    if count == 1 and isinstance(arg, str | bytes | int) and not isinstance(arg, bool) and not items:
        return [arg]  # a string or integer literal
    if name == "NONE":
        return [None]
    return [_OTHER] * count
