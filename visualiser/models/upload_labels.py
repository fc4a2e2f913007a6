"""Class names for a registered checkpoint: the user's file or list, the architecture's own, or ``class 0..K-1``.

The names travel inside the spec (``labels="names:<JSON list>"``, read by ``visualiser.labels.load_labels``),
so nothing is written under ``assets/`` and nothing outlives the process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from visualiser.errors import InputError
from visualiser.labels import load_labels
from visualiser.models.registry import get_spec

if TYPE_CHECKING:
    from visualiser.models.infer import Inference

LabelsArg = str | os.PathLike[str] | Sequence[str] | None
MAX_LABELS_BYTES = 2_000_000


def read_labels(labels: LabelsArg) -> tuple[str, ...]:
    """Names from a text file (one a line, UTF-8) or a sequence; InputError for a file that is not that."""
    if isinstance(labels, str | os.PathLike):
        path = Path(labels)
        if not path.is_file():
            raise InputError(f"{path}: no such labels file")
        if path.stat().st_size > MAX_LABELS_BYTES:
            raise InputError(
                f"{path.name} is over {MAX_LABELS_BYTES // 1_000_000} MB; a labels file has one name a line"
            )
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{path.name} is not UTF-8 text; write one class name per line") from None
        names = [line.strip() for line in text.splitlines()]
        while names and not names[-1]:
            names.pop()
        if any(not n for n in names):
            raise InputError(f"{path.name} has an empty line at {names.index('') + 1}; write one class name per line")
        return tuple(names)
    return tuple(str(n) for n in labels or ())


def choose_labels(names: tuple[str, ...] | None, given: LabelsArg, inference: Inference) -> tuple[str, str]:
    """(the spec's labels string, where the names came from in words); the count must match the classes."""
    k = inference.config.num_classes
    if names is not None:
        if len(names) != k:
            where = Path(given).name if isinstance(given, str | os.PathLike) else "the labels"
            raise InputError(f"{where} has {len(names)} names but the checkpoint has {k} classes")
        source = Path(given).name if isinstance(given, str | os.PathLike) else "names given by the caller"
        return "names:" + json.dumps(list(names), ensure_ascii=False), source
    if inference.arch:
        own = get_spec(inference.arch).labels
        if len(load_labels(own)) == k:
            return own, f"{inference.arch}'s own labels"
    task = inference.layout.task
    if k == 1000 and task == "image":
        return "imagenet1k", "ImageNet-1k names (assumed from 1000 classes)"
    if k == 400 and task == "clip":
        return "kinetics400", "Kinetics-400 names (assumed from 400 classes)"
    return "names:" + json.dumps([f"class {i}" for i in range(k)]), f"class 0..{k - 1} (no labels given)"
