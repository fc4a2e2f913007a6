"""Reading a weights file and loading it strictly: every key present, none extra, every shape equal.

A silently half-loaded network still predicts something, and that something is wrong; so ``load_into`` refuses
anything that does not fit exactly, naming the keys.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from visualiser.errors import WeightsError
from visualiser.models.weights.remap import unwrap_checkpoint

if TYPE_CHECKING:
    import torch
    from torch import nn


def _first(items: list[str], n: int = 10) -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def load_into(model: nn.Module, sd: Mapping[str, torch.Tensor], source_desc: str) -> nn.Module:
    """Load ``sd`` into ``model`` exactly: every key present, none extra, every shape equal.

    Only BatchNorm's ``num_batches_tracked`` counters may be absent (older checkpoints lack them;
    they do not affect evaluation). Raises WeightsError naming what does not fit.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    wrong_shape = [
        f"{k} {tuple(sd[k].shape)} vs {tuple(expected[k].shape)}"
        for k in sd
        if k in expected and tuple(sd[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"missing keys: {_first(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_first(unexpected)}")
        if wrong_shape:
            parts.append(f"shape mismatches (checkpoint vs model): {_first(wrong_shape)}")
        raise WeightsError(f"the weights from {source_desc} do not fit the architecture; " + "; ".join(parts))
    full = dict(sd)
    for key, value in expected.items():
        full.setdefault(key, value)  # only num_batches_tracked can be absent here
    model.load_state_dict(full, strict=True)
    return model


def read_state_dict(path: Path, *, shown_as: str | None = None) -> dict[str, torch.Tensor]:
    """Tensors from a ``.safetensors`` file or a ``.pth`` (loaded with ``weights_only=True``).

    Messages name the file as ``shown_as`` when given (a temporary copy is read for the user's file).
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        if path.suffix == ".safetensors":
            return load_file(str(path), device="cpu")
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (SafetensorError, RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as e:
        raise WeightsError(f"the weights file {shown_as or path} cannot be read ({e})") from e
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"the weights file {shown_as or path} holds a {type(loaded).__name__}, not a state_dict")
    return unwrap_checkpoint(loaded)
