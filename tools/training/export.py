"""Write a trained model's shipped files: weights, labels, card and excitation statistics.

``<name>.safetensors`` (float32 state_dict), ``<name>.labels.txt`` (one class a line),
``<name>.card.json`` (architecture, data, recipe, timing, held-out metrics) and
``<name>.stats.npz`` (class-mean channel gates, ``visualiser.reference_stats``; made by ``visualiser.dataset``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from visualiser.models.registry import ModelSpec
from visualiser.reference_stats import ReferenceStats, save_reference_stats


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters())


def save_weights(model: nn.Module, path: Path) -> dict[str, Any]:
    """Save the state_dict as float32 safetensors; returns file size and SHA-256."""
    state = {
        k: v.detach().to(torch.float32 if v.is_floating_point() else v.dtype).contiguous().clone()
        for k, v in model.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={"format": "pt"})
    path.chmod(0o644)  # shipped with the project: readable by everyone, like the other assets
    data = path.read_bytes()
    return {"file": path.name, "dtype": "float32", "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def architecture(model: nn.Module) -> dict[str, Any]:
    """The model's config dataclass as JSON (every embedded net keeps it as ``model.cfg``)."""
    cfg = getattr(model, "cfg", None)
    return {"class": type(model).__name__, "config": _jsonable(cfg) if cfg is not None else None}


def write_outputs(
    out_dir: Path,
    spec: ModelSpec,
    model: nn.Module,
    classes: tuple[str, ...],
    card: dict[str, Any],
    stats: ReferenceStats | None,
) -> list[Path]:
    """Write all shipped files for one model; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = spec.name
    weights_path = out_dir / f"{name}.safetensors"
    labels_path = out_dir / f"{name}.labels.txt"
    card_path = out_dir / f"{name}.card.json"
    card = dict(card)
    card["weights"] = save_weights(model, weights_path)
    card["parameters"] = parameter_count(model)
    card["architecture"] = architecture(model)
    card["preprocess"] = _jsonable(spec.preprocess)
    card["labels"] = list(classes)
    card["environment"] = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}
    labels_path.write_text("\n".join(classes) + "\n", encoding="utf-8")
    card_path.write_text(json.dumps(_jsonable(card), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths = [weights_path, labels_path, card_path]
    if stats is not None:
        paths.append(save_reference_stats(stats, out_dir / f"{name}.stats.npz"))
    return paths
