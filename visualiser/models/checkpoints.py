"""Read a checkpoint a user brought, without trusting it: bounded, never unpickling objects, unwrapped.

Accepted: a ``.safetensors`` file, or a file written by ``torch.save`` (``.pth`` / ``.pt`` / ``.bin`` /
``.ckpt``, zip or legacy format) read with ``torch.load(weights_only=True)``. The kind is told by the
file's first bytes, not its name, because uploads get renamed. A pickle that names any Python object
outside a short allow-list of plain data (``argparse.Namespace`` and NumPy scalars, which training
scripts save next to the weights) is refused with a sentence naming the object, and nothing in it runs.

Limits: the file may be at most ``VISUALISER_MAX_CHECKPOINT_MB`` (default 400 MB: a ResNet-101 is
~200 MB in float32, a ResNet-50 training checkpoint with SGD momentum ~210 MB), and its tensors may
not declare more bytes than that either (a zero-stride view can claim terabytes from a few bytes).
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError
from visualiser.models.weights import unwrap_checkpoint

if TYPE_CHECKING:
    import torch

MAX_MB_ENV = "VISUALISER_MAX_CHECKPOINT_MB"
DEFAULT_MAX_MB = 400
MAX_KEYS = 20_000
# Where a training script usually puts the weights inside the file it saves.
CONTAINER_KEYS = ("state_dict", "model", "model_state_dict")
# Prefixes wrappers add to every key: DataParallel / DDP, Lightning-style modules, torch.compile.
SHARED_PREFIXES = ("module.", "model.", "_orig_mod.")
ACCEPTED = "a .safetensors file, or a .pth / .pt / .bin file written by torch.save"
_SAFETENSORS_MAX_HEADER = 100 << 20
_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")
# What torch.load raises on damaged bytes (found by truncating and corrupting files of both formats):
# the legacy reader's asserts and struct unpacking fail as well as its I/O.
_DAMAGED = (
    RuntimeError, EOFError, KeyError, ValueError, IndexError, TypeError, AttributeError, OverflowError, OSError,
    MemoryError, AssertionError, NotImplementedError, struct.error, zipfile.BadZipFile,
)  # fmt: skip


def max_checkpoint_bytes() -> int:
    """The size limit in bytes, from ``VISUALISER_MAX_CHECKPOINT_MB`` (default 400)."""
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MB * 1_000_000
    try:
        megabytes = float(raw)
    except ValueError:
        raise WeightsError(f"{MAX_MB_ENV} must be a number of megabytes, not {raw!r}") from None
    if megabytes <= 0:
        raise WeightsError(f"{MAX_MB_ENV} must be positive, not {raw!r}")
    return int(megabytes * 1_000_000)


def _megabytes(n: int) -> str:
    if n < 1_000_000:
        return f"{n / 1e3:.0f} kB"
    return f"{n / 1e6:.1f} MB" if n < 10_000_000 else f"{n / 1e6:.0f} MB"


def sniff_format(path: Path) -> str:
    """``"safetensors"``, ``"torch_zip"`` or ``"torch_legacy"`` from the first bytes; WeightsError otherwise."""
    with path.open("rb") as f:
        head = f.read(16)
    if len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= _SAFETENSORS_MAX_HEADER:
        return "safetensors"
    if head.startswith(b"PK\x03\x04"):
        return "torch_zip"
    if head.startswith(b"\x80") and len(head) > 2:
        return "torch_legacy"
    raise WeightsError(f"{path.name} is not a checkpoint: expected {ACCEPTED}")


def check_size(path: str | os.PathLike[str]) -> int:
    """The file's size in bytes, if it exists, is not empty and is within the limit; WeightsError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    size = path.stat().st_size
    limit = max_checkpoint_bytes()
    if size == 0:
        raise WeightsError(f"{path.name} is empty")
    if size > limit:
        raise WeightsError(
            f"{path.name} is {_megabytes(size)}, over the {_megabytes(limit)} limit for checkpoints; "
            f"set {MAX_MB_ENV} to allow larger files"
        )
    return size


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a user's checkpoint, keyed as saved (minus wrappers), or one WeightsError sentence."""
    path = Path(path)
    check_size(path)
    limit = max_checkpoint_bytes()
    kind = sniff_format(path)
    loaded = _read_safetensors(path) if kind == "safetensors" else _read_torch(path, kind, limit)
    return _tensors(loaded, path.name, limit)


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """Read into memory the tensors own: ``load_file`` maps the file lazily, and an upload may vanish or change."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(path.read_bytes())
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(
            f"{path.name} is a damaged safetensors file ({_first_line(e)}); was the file cut short?"
        ) from e


def _safe_globals() -> list[object]:
    """Plain-data objects training scripts save beside the weights; building them runs no user code."""
    import numpy as np

    allowed: list[object] = [argparse.Namespace, np.dtype]
    allowed += [type(np.dtype(name)) for name in ("float16", "float32", "float64", "int32", "int64", "bool")]
    core = getattr(np, "_core", None) or np.core  # NumPy 2 moved numpy.core to numpy._core
    scalar = core.multiarray.scalar
    allowed += [scalar, (scalar, "numpy.core.multiarray.scalar")]  # the same function, as NumPy 1.x names it
    return allowed


def _read_torch(path: Path, kind: str, limit: int) -> object:
    import torch

    if kind == "torch_zip":
        try:
            with zipfile.ZipFile(path) as archive:
                declared = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise WeightsError(f"{path.name} is a damaged PyTorch file ({_first_line(e)}); was it cut short?") from e
        if declared > limit:
            raise WeightsError(
                f"{path.name} unpacks to {_megabytes(declared)}, over the {_megabytes(limit)} limit; "
                f"set {MAX_MB_ENV} to allow larger checkpoints"
            )
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = _UNSUPPORTED_GLOBAL.search(str(e))
        if found:
            raise WeightsError(
                f"{path.name} holds a Python object ({found.group(1)}), which is never unpickled here because "
                "that could run code; save model.state_dict() (or a .safetensors file) instead"
            ) from None
        raise WeightsError(f"{path.name} is not a readable PyTorch checkpoint ({_first_line(e)})") from None
    except _DAMAGED as e:
        raise WeightsError(
            f"{path.name} cannot be read as a PyTorch checkpoint ({_first_line(e)}); was the file cut short?"
        ) from None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _container(loaded: Mapping[str, object]) -> Mapping[str, object]:
    for key in CONTAINER_KEYS:
        inner = loaded.get(key)
        if isinstance(inner, Mapping) and inner:
            return inner
    return loaded


def strip_shared_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove a wrapper prefix (``module.``, ``model.``, ``_orig_mod.``) that every key carries."""
    changed = True
    while changed and state:
        changed = False
        for prefix in SHARED_PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k.removeprefix(prefix): v for k, v in state.items()}
                changed = True
    return state


def _tensors(loaded: object, filename: str, limit: int) -> dict[str, torch.Tensor]:
    if not isinstance(loaded, Mapping):
        kind = type(loaded).__name__
        raise WeightsError(f"{filename} holds a value of type {kind}, not a state_dict of named tensors")
    state = strip_shared_prefixes(unwrap_checkpoint(_container(loaded)))
    if not state:
        found = ", ".join(str(k) for k in list(loaded)[:8]) or "nothing"
        raise WeightsError(f"{filename} holds no tensors (its top-level entries: {found})")
    if len(state) > MAX_KEYS:
        raise WeightsError(f"{filename} holds {len(state)} tensors; a ResNet has at most a few thousand")
    declared = sum(t.numel() * t.element_size() for t in state.values())
    if declared > limit:
        raise WeightsError(
            f"{filename} declares {_megabytes(declared)} of tensors, over the {_megabytes(limit)} limit; "
            f"set {MAX_MB_ENV} to allow larger checkpoints"
        )
    return state
