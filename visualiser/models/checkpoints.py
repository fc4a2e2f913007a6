"""The one checkpoint reader: every weights file (a user's upload, ``--weights``, a download, a shipped model).

A file is judged from what it declares before anything is built from it:

* ``.safetensors``: the header (tensor count, dtypes, shapes, byte offsets) is parsed first, and the file is
  refused before a single tensor exists; ``Checkpoint.shapes`` lets the caller infer the architecture and
  check every key and shape against it too; only then are the tensors streamed in, one at a time, straight
  from the file (never the whole file in memory beside them);
* ``torch.save`` files (``.pth`` / ``.pt`` / ``.bin`` / ``.ckpt``, zip or legacy format): the zip entries are
  counted and sized, the pickle's opcodes are scanned (``pickle_scan``: how many storages, how many bytes
  they would allocate) and only then is it loaded with ``torch.load(weights_only=True)``, whose unpickler
  refuses every object but tensors and plain containers (plus ``argparse.Namespace`` and NumPy scalars,
  which training scripts save beside the weights); a pickle naming any other object is refused with a
  sentence naming it, and nothing in it runs.

The kind is told by the file's first bytes, not its name (uploads get renamed). Floating-point tensors in
float16, bfloat16 or float64 are converted to float32 (our networks compute in float32); integer, bool and
float8 tensors (quantised checkpoints: codes, not the weights a network multiplies by) are refused, except
BatchNorm's ``num_batches_tracked`` counters. A tensor holding NaN or infinity is refused.

Limits: the file may be at most ``VISUALISER_MAX_CHECKPOINT_MB`` (default 400 MB: a ResNet-101 is ~200 MB in
float32, a ResNet-50 training checkpoint with SGD momentum ~210 MB), and so may what its tensors declare
(a zero-stride view can claim terabytes from a few bytes); at most ``MAX_KEYS`` tensors.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError
from visualiser.models.pickle_scan import PickleDamaged, PickleTooLong, scan_pickle

if TYPE_CHECKING:
    import torch

MAX_MB_ENV = "VISUALISER_MAX_CHECKPOINT_MB"
DEFAULT_MAX_MB = 400
CATALOGUE_MAX_BYTES = DEFAULT_MAX_MB * 1_000_000  # the catalogue's own weights (all under it), whatever a deployer set
MAX_KEYS = 20_000
MAX_HEADER_BYTES = 8_000_000  # a safetensors header: a ResNet-152's is ~100 kB
MAX_PICKLE_BYTES = 16_000_000  # a torch.save pickle (data.pkl): a ResNet-152 training checkpoint's is ~300 kB
MAX_NDIM = 8
# Where a training script usually puts the weights inside the file it saves.
CONTAINER_KEYS = ("state_dict", "model", "model_state_dict")
# Prefixes wrappers add to every key: DataParallel / DDP, Lightning-style modules, torch.compile.
SHARED_PREFIXES = ("module.", "model.", "_orig_mod.")
COUNTER_SUFFIX = "num_batches_tracked"  # BatchNorm's step counter: int64, never used in evaluation
ACCEPTED = "a .safetensors file, or a .pth / .pt / .bin file written by torch.save"
# safetensors dtype codes → (torch dtype name, bytes per element); anything else is not weights to draw.
_SAFETENSORS_FLOATS = {"F32": ("float32", 4), "F16": ("float16", 2), "BF16": ("bfloat16", 2), "F64": ("float64", 8)}
_SAFETENSORS_INTS = {"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
_ACCEPTED_FLOATS = ("float32", "float16", "bfloat16", "float64")
# torch.load's refusals, in torch 2.13's words: a blocked module (os, subprocess, ...) or any other global.
_UNSUPPORTED_GLOBAL = re.compile(r"(?:unsupported GLOBAL|Unsupported global: GLOBAL) ([\w.]+)")
_OTHER_OBJECT = re.compile(r"(?:unrecognized function <?(?:built-in function |function )?|got <class ')([\w.]+)")
# What torch.load raises on damaged bytes (found by truncating and corrupting files of both formats):
# the legacy reader's asserts and struct unpacking fail as well as its I/O.
_DAMAGED = (
    RuntimeError, EOFError, KeyError, ValueError, IndexError, TypeError, AttributeError, OverflowError, OSError,
    MemoryError, AssertionError, NotImplementedError, struct.error, zipfile.BadZipFile,
)  # fmt: skip
_CUT_SHORT = re.compile(r"EOF|end of file|truncat|unexpected end|ran out of input|exhausted|not a zip file", re.I)


def max_checkpoint_bytes() -> int:
    """The size limit in bytes, from ``VISUALISER_MAX_CHECKPOINT_MB`` (default 400)."""
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 1_000_000
    try:
        megabytes = float(raw)
    except ValueError:
        raise WeightsError(f"{MAX_MB_ENV} must be a number of megabytes, not {raw!r}") from None
    if not megabytes > 0:
        raise WeightsError(f"{MAX_MB_ENV} must be positive, not {raw!r}")
    return int(megabytes * 1_000_000)


def megabytes(n: int) -> str:
    """A byte count in words: "12 kB", "1.2 MB", "120 MB"."""
    if n < 1_000_000:
        return f"{n / 1e3:.0f} kB"
    return f"{n / 1e6:.1f} MB" if n < 10_000_000 else f"{n / 1e6:.0f} MB"


def sniff_format(path: Path, shown: str | None = None) -> str:
    """``"safetensors"``, ``"torch_zip"`` or ``"torch_legacy"`` from the first bytes; WeightsError otherwise."""
    with path.open("rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 0:
        return "safetensors"
    if head.startswith(b"PK\x03\x04"):
        return "torch_zip"
    if head.startswith(b"\x80") and len(head) > 2:
        return "torch_legacy"
    raise WeightsError(f"{shown or path.name} is not a checkpoint: expected {ACCEPTED}")


def check_size(path: str | os.PathLike[str], limit: int | None = None, shown: str | None = None) -> int:
    """The file's size in bytes, if it exists, is not empty and is within the limit; WeightsError otherwise."""
    path = Path(path)
    shown = shown or path.name
    if not path.is_file():
        raise WeightsError(f"{shown}: no such checkpoint file")
    size = path.stat().st_size
    limit = max_checkpoint_bytes() if limit is None else limit
    if size == 0:
        raise WeightsError(f"{shown} is empty")
    if size > limit:
        raise WeightsError(
            f"{shown} is {megabytes(size)}, over the {megabytes(limit)} limit for checkpoints; "
            f"set {MAX_MB_ENV} to allow larger files"
        )
    return size


@dataclass(frozen=True)
class Declared:
    """One tensor as the file describes it: dtype name, shape, and (safetensors) where its bytes are."""

    dtype: str
    shape: tuple[int, ...]
    offset: int = -1  # absolute file offset of the data; -1: already loaded (torch files)
    nbytes: int = 0

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


@dataclass
class Checkpoint:
    """A judged checkpoint: its tensors' declared shapes (keys as saved, wrappers removed), readable on demand.

    ``shapes`` is all a caller needs to infer and check an architecture; ``tensors()`` then builds them,
    float32 (counters int64), each checked for NaN / infinity.
    """

    path: Path
    shown: str
    kind: str
    declared: dict[str, Declared]
    loaded: dict[str, torch.Tensor] | None = None  # torch files: what torch.load returned (unwrapped)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: d.shape for k, d in self.declared.items()}

    def float32_bytes(self) -> int:
        """Bytes the tensors take once converted (float32, int64 counters): what a loaded network holds."""
        return sum(d.numel * (8 if d.dtype == "int64" else 4) for d in self.declared.values())

    def tensors(self, keys: Iterator[str] | None = None) -> Iterator[tuple[str, torch.Tensor]]:
        """``(key, tensor)`` for ``keys`` (default all), in file order, each built when asked for (and taken once)."""
        wanted = set(self.declared) if keys is None else set(keys)
        if self.loaded is not None:
            for key in [k for k in self.declared if k in wanted]:
                yield key, _finished(self.loaded.pop(key), key, self.shown)
            return
        order = sorted((d.offset, k) for k, d in self.declared.items() if k in wanted)
        with self.path.open("rb") as f:
            for offset, key in order:
                yield key, _finished(_read_one(f, offset, self.declared[key], self.shown), key, self.shown)


def open_checkpoint(path: str | os.PathLike[str], limit: int | None = None, shown: str | None = None) -> Checkpoint:
    """Judge a checkpoint from what it declares (see the module docstring); one WeightsError sentence if refused.

    ``limit`` overrides ``VISUALISER_MAX_CHECKPOINT_MB`` (the catalogue's own weights pass theirs); ``shown`` is
    the name messages use (default the file's name).
    """
    path = Path(path)
    shown = shown or path.name
    limit = max_checkpoint_bytes() if limit is None else limit
    size = check_size(path, limit, shown)
    kind = sniff_format(path, shown)
    if kind == "safetensors":
        declared = strip_shared_prefixes(_safetensors_header(path, size, shown))
        checkpoint = Checkpoint(path, shown, kind, declared)  # type: ignore[arg-type]
    else:
        state = _read_torch(path, kind, limit, shown)
        declared = {k: Declared(str(t.dtype).removeprefix("torch."), tuple(t.shape)) for k, t in state.items()}
        checkpoint = Checkpoint(path, shown, kind, declared, loaded=state)
        _check_declared_bytes(state, shown, limit)
    _check_dtypes(checkpoint.declared, shown)
    return checkpoint


def read_checkpoint(
    path: str | os.PathLike[str], limit: int | None = None, shown: str | None = None
) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint (keys as saved, wrappers removed), float32, checked; or one WeightsError."""
    return dict(open_checkpoint(path, limit, shown).tensors())


# ---- safetensors: the header first, then one tensor at a time --------------------------------------------------


def _safetensors_header(path: Path, size: int, shown: str) -> dict[str, Declared]:
    damaged = f"{shown} is a damaged safetensors file"
    with path.open("rb") as f:
        length = int.from_bytes(f.read(8), "little")
        if length > size - 8:
            raise WeightsError(f"{damaged} (its header claims {megabytes(length)}); was the file cut short?")
        if length > MAX_HEADER_BYTES:
            count = _count_entries(f, length)
            if count > MAX_KEYS:
                raise _too_many(shown, count)
            raise WeightsError(
                f"{shown} has a {megabytes(length)} header; a network of ours needs well under "
                f"{megabytes(MAX_HEADER_BYTES)} to describe its tensors"
            )
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise WeightsError(f"{damaged} (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{damaged} (its header is not a table of tensors)")
    header.pop("__metadata__", None)
    if len(header) > MAX_KEYS:
        raise _too_many(shown, len(header))
    if not header:
        raise WeightsError(f"{shown} holds no tensors")
    start = 8 + length
    declared = {str(k): _entry(k, v, start, damaged) for k, v in header.items()}
    _check_layout(declared, start, size, damaged)
    return declared


def _count_entries(f: object, length: int) -> int:
    """How many tensors a header too large to parse describes (its ``data_offsets`` fields), in 1 MB reads."""
    count, left, tail = 0, length, b""
    while left > 0:
        chunk = f.read(min(left, 1 << 20))  # type: ignore[attr-defined]
        if not chunk:
            break
        left -= len(chunk)
        data = tail + chunk
        count += data.count(b'"data_offsets"')
        tail = data[-13:]  # a field name cut between two reads is counted in the next one
    return count


def _entry(key: object, value: object, start: int, damaged: str) -> Declared:
    if not isinstance(value, dict):
        raise WeightsError(f"{damaged} (entry {_short(key)} is not a tensor description)")
    code, shape, offsets = value.get("dtype"), value.get("shape"), value.get("data_offsets")
    ok_shape = isinstance(shape, list) and len(shape) <= MAX_NDIM and all(_natural(d) for d in shape)
    ok_offsets = isinstance(offsets, list) and len(offsets) == 2 and all(_natural(o) for o in offsets)
    if not isinstance(code, str) or not ok_shape or not ok_offsets or offsets[1] < offsets[0]:
        raise WeightsError(f"{damaged} (entry {_short(key)} has no valid dtype, shape and offsets)")
    if code in _SAFETENSORS_FLOATS:
        dtype, width = _SAFETENSORS_FLOATS[code]
    elif code in _SAFETENSORS_INTS:
        dtype, width = ("bool" if code == "BOOL" else ("u" if code[0] == "U" else "") + f"int{code[1:]}"), 0
    else:
        dtype, width = code.lower(), 0  # float8 and other exotic codes: refused by _check_dtypes
    nbytes = offsets[1] - offsets[0]
    declared = Declared(dtype, tuple(shape), start + offsets[0], nbytes)
    element = width or _SAFETENSORS_INTS.get(code, 1)
    if declared.numel * element != nbytes and code in (*_SAFETENSORS_FLOATS, *_SAFETENSORS_INTS):
        raise WeightsError(f"{damaged} (entry {_short(key)}: shape {tuple(shape)} does not match its {nbytes} bytes)")
    return declared


def _check_layout(declared: dict[str, Declared], start: int, size: int, damaged: str) -> None:
    """The tensors' bytes tile the data area exactly, as safetensors writes them: no gap, no overlap, no excess."""
    position = start
    for entry in sorted(declared.values(), key=lambda d: (d.offset, d.nbytes)):
        if entry.offset != position:
            raise WeightsError(f"{damaged} (its tensors' bytes overlap or leave gaps)")
        position += entry.nbytes
    if position > size:
        raise WeightsError(f"{damaged} (the header describes {megabytes(position - start)} of data); was it cut short?")
    if position < size:
        raise WeightsError(f"{damaged} ({megabytes(size - position)} after the last tensor)")


def _read_one(f: object, offset: int, entry: Declared, shown: str) -> torch.Tensor:
    """One tensor's bytes read straight into its own storage (no copy of the file kept)."""
    import torch

    buffer = torch.empty(entry.nbytes, dtype=torch.uint8)
    f.seek(offset)  # type: ignore[attr-defined]
    got = f.readinto(memoryview(buffer.numpy()))  # type: ignore[attr-defined]
    if got != entry.nbytes:
        raise WeightsError(f"{shown} changed or was cut short while it was being read")
    return buffer.view(getattr(torch, entry.dtype)).reshape(entry.shape)


# ---- torch.save files: entries and pickle judged, then torch.load(weights_only=True) ----------------------------


def _safe_globals() -> list[object]:
    """Plain-data objects training scripts save beside the weights; building them runs no user code."""
    import numpy as np

    allowed: list[object] = [argparse.Namespace, np.dtype]
    allowed += [type(np.dtype(name)) for name in ("float16", "float32", "float64", "int32", "int64", "bool")]
    core = getattr(np, "_core", None) or np.core  # NumPy 2 moved numpy.core to numpy._core
    scalar = core.multiarray.scalar
    allowed += [scalar, (scalar, "numpy.core.multiarray.scalar")]  # the same function, as NumPy 1.x names it
    return allowed


def _read_torch(path: Path, kind: str, limit: int, shown: str) -> dict[str, torch.Tensor]:
    import torch

    summary = _judge_zip(path, limit, shown) if kind == "torch_zip" else _judge_legacy(path, shown)
    if summary.references > 2 * MAX_KEYS:
        raise _too_many(shown, summary.references)
    if summary.declared_bytes > limit:
        raise WeightsError(
            f"{shown} declares {megabytes(summary.declared_bytes)} of tensors, over the {megabytes(limit)} limit; "
            f"set {MAX_MB_ENV} to allow larger checkpoints"
        )
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise _refused_object(e, shown) from None
    except _DAMAGED as e:
        hint = "; was the file cut short?" if _CUT_SHORT.search(str(e)) else ""
        raise WeightsError(f"{shown} cannot be read as a PyTorch checkpoint ({_first_line(e)}){hint}") from None
    return _tensors(loaded, shown)


def _judge_zip(path: Path, limit: int, shown: str) -> object:
    """Entries counted and sized from the zip's directory, then the pickle's opcodes scanned; nothing unpacked."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > MAX_KEYS + 16:
                raise WeightsError(
                    f"{shown} is a zip of {len(entries)} entries; a checkpoint of ours holds at most {MAX_KEYS} tensors"
                )
            bad = next((i.filename for i in entries if _unsafe_member(i.filename)), None)
            if bad is not None:
                raise WeightsError(f"{shown} holds a zip entry named {_short(bad)}, which torch.save never writes")
            declared = sum(info.file_size for info in entries)
            if declared > limit:
                raise WeightsError(
                    f"{shown} unpacks to {megabytes(declared)}, over the {megabytes(limit)} limit; "
                    f"set {MAX_MB_ENV} to allow larger checkpoints"
                )
            pickles = [i for i in entries if i.filename.endswith("/data.pkl") and i.filename.count("/") == 1]
            if len(pickles) != 1:
                raise WeightsError(f"{shown} is a zip file but not one written by torch.save (no single data.pkl)")
            if pickles[0].file_size > MAX_PICKLE_BYTES:
                raise _pickle_too_long(shown)
            with archive.open(pickles[0]) as stream:
                return _scanned(stream, shown)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError) as e:
        hint = "; was it cut short?" if _CUT_SHORT.search(str(e)) or isinstance(e, EOFError) else ""
        raise WeightsError(f"{shown} is a damaged zip file ({_first_line(e)}){hint}") from None


def _unsafe_member(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]


def _judge_legacy(path: Path, shown: str) -> object:
    """The legacy format is four pickles, then the raw storages: the fourth (the object) is scanned."""
    with path.open("rb") as f:
        try:
            for _ in range(3):  # magic number, protocol version, system info: a few bytes each
                scan_pickle(f, 4096)
        except (PickleTooLong, PickleDamaged):
            raise WeightsError(f"{shown} cannot be read as a PyTorch checkpoint (not torch.save's format)") from None
        return _scanned(f, shown)


def _scanned(stream: object, shown: str) -> object:
    try:
        return scan_pickle(stream, MAX_PICKLE_BYTES)  # type: ignore[arg-type]
    except PickleTooLong:
        raise _pickle_too_long(shown) from None
    except PickleDamaged as e:
        hint = "; was the file cut short?" if _CUT_SHORT.search(str(e)) else ""
        raise WeightsError(f"{shown} cannot be read as a PyTorch checkpoint (damaged pickle: {e}){hint}") from None


def _pickle_too_long(shown: str) -> WeightsError:
    return WeightsError(
        f"{shown} has a pickle of over {megabytes(MAX_PICKLE_BYTES)}; a state_dict of ours needs well under that"
    )


def _refused_object(error: pickle.UnpicklingError, shown: str) -> WeightsError:
    """The sentence for a pickle torch.load refused: the object it names, never torch's own advice."""
    text = str(error)
    found = _UNSUPPORTED_GLOBAL.search(text) or _OTHER_OBJECT.search(text)
    what = _short(found.group(1), 80) if found else "an object that is not a tensor"
    return WeightsError(
        f"{shown} holds a Python object ({what}), which is never unpickled here because that could run code; "
        "save model.state_dict() (or a .safetensors file) instead"
    )


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 160 else text[:159] + "…"


def _container(loaded: Mapping[str, object]) -> Mapping[str, object]:
    for key in CONTAINER_KEYS:
        inner = loaded.get(key)
        if isinstance(inner, Mapping) and inner:
            return inner
    return loaded


def strip_shared_prefixes(state: dict[str, object]) -> dict[str, object]:
    """Remove a wrapper prefix (``module.``, ``model.``, ``_orig_mod.``) that every key carries."""
    changed = True
    while changed and state:
        changed = False
        for prefix in SHARED_PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k.removeprefix(prefix): v for k, v in state.items()}
                changed = True
    return state


def _tensors(loaded: object, shown: str) -> dict[str, torch.Tensor]:
    import torch

    if not isinstance(loaded, Mapping):
        raise WeightsError(f"{shown} holds a value of type {type(loaded).__name__}, not a state_dict of named tensors")
    inner = _container(loaded)
    if isinstance(inner.get("state_dict"), Mapping):  # a second wrapping, as some trainers nest it
        inner = inner["state_dict"]  # type: ignore[assignment]
    state = {str(k): v for k, v in inner.items() if isinstance(v, torch.Tensor)}
    state = strip_shared_prefixes(state)  # type: ignore[assignment]
    if not state:
        found = ", ".join(_short(k, 40) for k in list(loaded)[:8]) or "nothing"
        raise WeightsError(f"{shown} holds no tensors (its top-level entries: {found})")
    if len(state) > MAX_KEYS:
        raise _too_many(shown, len(state))
    odd = next((k for k, t in state.items() if t.layout != torch.strided or t.is_quantized), None)
    if odd is not None:
        raise WeightsError(f"{shown} holds a sparse or quantised tensor ({_short(odd)}); save plain float weights")
    return state  # type: ignore[return-value]


def _check_declared_bytes(state: Mapping[str, torch.Tensor], shown: str, limit: int) -> None:
    declared = sum(t.numel() * t.element_size() for t in state.values())
    if declared > limit:
        raise WeightsError(
            f"{shown} declares {megabytes(declared)} of tensors, over the {megabytes(limit)} limit; "
            f"set {MAX_MB_ENV} to allow larger checkpoints"
        )


# ---- what every format shares: dtypes, conversion, finiteness ----------------------------------------------------


def _check_dtypes(declared: Mapping[str, Declared], shown: str) -> None:
    """Float tensors only (BatchNorm's integer counters aside): a sentence naming the first other one."""
    odd = [(k, d.dtype) for k, d in declared.items() if d.dtype not in _ACCEPTED_FLOATS and not _counter(k, d)]
    if not odd:
        return
    key, dtype = odd[0]
    kind = "bool" if dtype == "bool" else "float8" if dtype.startswith("f8") or "float8" in dtype else dtype
    more = f", and {len(odd) - 1} more" if len(odd) > 1 else ""
    raise WeightsError(
        f"{shown} holds {kind} tensors ({_short(key)}{more}), not floating-point weights: a quantised or "
        "integer checkpoint stores codes, not the values a network multiplies by; save its float32, float16 "
        "or bfloat16 state_dict instead"
    )


def _counter(key: str, declared: Declared) -> bool:
    return key.endswith(COUNTER_SUFFIX) and declared.dtype in ("int64", "int32") and declared.numel <= 1


def _finished(tensor: torch.Tensor, key: str, shown: str) -> torch.Tensor:
    """float32 (counters stay integers), contiguous and finite."""
    import torch

    if not tensor.is_floating_point():
        return tensor.contiguous()
    if tensor.dtype != torch.float32:
        tensor = tensor.to(torch.float32)
    tensor = tensor.contiguous()
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = int(finite.numel() - finite.sum())
        raise WeightsError(
            f"{shown} holds NaN or infinite values ({_short(key)}: {bad} of {tensor.numel()}); "
            "a network with them computes nothing that can be drawn"
        )
    return tensor


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _too_many(shown: str, count: int) -> WeightsError:
    return WeightsError(f"{shown} holds {count} tensors; a ResNet has at most a few thousand")


def _short(text: object, limit: int = 60) -> str:
    """A string from the file echoed in a message: at most ``limit`` characters, repr'd unless plainly printable."""
    text = str(text)
    if text.isprintable() and len(text) <= limit:
        return text
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 2] + "…'"
