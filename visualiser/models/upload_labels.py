"""Class names for a registered checkpoint: the user's file or list, the architecture's own, or ``class 0..K-1``.

The names travel inside the spec (``labels="names:<JSON list>"``, read by ``visualiser.labels.load_labels``),
so nothing is written under ``assets/`` and nothing outlives the process.
"""

from __future__ import annotations

import json
import os
import unicodedata
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
MAX_LABEL_CHARS = 200  # ImageNet's longest name is 77 characters
MAX_LABELS = 30_000  # ImageNet-21k has 21,843 classes
_LINE_BREAKS = ("Zl", "Zp")  # U+2028, U+2029: line breaks that are not "\n"


def read_labels(labels: LabelsArg) -> tuple[str, ...]:
    """Names from a text file (one a line, UTF-8) or a sequence; InputError for anything that is not that.

    Lines end at "\n" (or "\r\n") only; a name with another control or line-break character, an empty line,
    a name over ``MAX_LABEL_CHARS`` characters or more than ``MAX_LABELS`` names are refused with a sentence.
    """
    if isinstance(labels, str | os.PathLike):
        path = Path(labels)
        where = _shown(path.name)
        if not path.is_file():
            raise InputError(f"{where}: no such labels file")
        if path.stat().st_size > MAX_LABELS_BYTES:
            raise InputError(f"{where} is over {MAX_LABELS_BYTES // 1_000_000} MB; a labels file has one name a line")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{where} is not UTF-8 text; write one class name per line") from None
        names = [line.removesuffix("\r").strip() for line in text.split("\n")]
        while names and not names[-1]:
            names.pop()
        if any(not n for n in names):
            raise InputError(f"{where} has an empty line at {names.index('') + 1}; write one class name per line")
    else:
        where = "the labels"
        names = [str(n) for n in labels or ()]
    _check_names(names, where)
    return tuple(names)


def _check_names(names: Sequence[str], where: str) -> None:
    if len(names) > MAX_LABELS:
        raise InputError(f"{where} has {len(names)} names; at most {MAX_LABELS} classes are supported")
    for line, name in enumerate(names, start=1):
        if len(name) > MAX_LABEL_CHARS:
            raise InputError(
                f"{where}: name {line} is {len(name)} characters long; a class name may have at most {MAX_LABEL_CHARS}"
            )
        odd = next((c for c in name if unicodedata.category(c) in ("Cc", *_LINE_BREAKS)), None)
        if odd is not None:
            raise InputError(
                f"{where}: name {line} holds the control character U+{ord(odd):04X}; write one class name per line"
            )


def _shown(name: str, limit: int = 60) -> str:
    text = name if name.isprintable() else repr(name)[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def choose_labels(names: tuple[str, ...] | None, given: LabelsArg, inference: Inference) -> tuple[str, str]:
    """(the spec's labels string, where the names came from in words); the count must match the classes."""
    k = inference.config.num_classes
    if names is not None:
        if len(names) != k:
            where = _shown(Path(given).name) if isinstance(given, str | os.PathLike) else "the labels"
            raise InputError(f"{where} has {len(names)} names but the checkpoint has {k} classes")
        source = _shown(Path(given).name) if isinstance(given, str | os.PathLike) else "names given by the caller"
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
