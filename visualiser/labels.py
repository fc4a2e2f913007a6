"""Class names for predictions, read from files shipped under ``assets/`` (never downloaded).

``load_labels(spec.labels)`` understands ``"imagenet1k"`` (1000 names in the sorted-WordNet-ID
order every ImageNet checkpoint here uses), ``"kinetics400"`` (400 action names),
``"file:<path under assets/>"`` (one name per line, for the embedded models) and ``"names:<JSON list>"``
(names held in the spec itself, for checkpoints a user registers with their own label file).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from visualiser.paths import ASSETS_DIR, LABELS_DIR

# WordNet gives both "crane" synsets the single lemma "crane"; a top-5 list needs to tell them apart.
_IMAGENET_OVERRIDES = {"n02012849": "crane (bird)", "n03126707": "crane (machine)"}


def _imagenet_names(path: Path) -> tuple[str, ...]:
    """First lemma per class; a name shared by two classes gets its second lemma in brackets."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    if [int(r[0]) for r in rows] != list(range(1000)):
        raise ValueError(f"{path} must list classes 0..999 in order")
    lemmas = [[p.strip() for p in r[2].split(",")] for r in rows]
    first = [lem[0] for lem in lemmas]
    names = []
    for (_, synset, _), lem, name in zip(rows, lemmas, first, strict=True):
        if synset in _IMAGENET_OVERRIDES:
            name = _IMAGENET_OVERRIDES[synset]
        elif first.count(name) > 1 and len(lem) > 1:
            name = f"{name} ({lem[1]})"
        names.append(name)
    return tuple(names)


def _lines(path: Path) -> tuple[str, ...]:
    """Non-empty lines, split at "\n" only (``str.splitlines`` also splits at "\r", "\x1c", "\u2028", ...)."""
    text = path.read_bytes().decode("utf-8")
    return tuple(line.strip() for line in text.split("\n") if line.strip())


@lru_cache(maxsize=16)
def load_labels(spec_labels: str) -> tuple[str, ...]:
    """Short class names, index-aligned with the model's logits."""
    if spec_labels == "imagenet1k":
        return _imagenet_names(LABELS_DIR / "imagenet1k.tsv")
    if spec_labels == "kinetics400":
        names = _lines(LABELS_DIR / "kinetics400.txt")
        if len(names) != 400:
            raise ValueError(f"kinetics400.txt has {len(names)} names, expected 400")
        return names
    if spec_labels.startswith("file:"):
        path = (ASSETS_DIR / spec_labels.removeprefix("file:")).resolve()
        if not path.is_relative_to(ASSETS_DIR.resolve()):
            raise ValueError(f"label file {spec_labels!r} is outside assets/")
        return _lines(path)
    if spec_labels.startswith("names:"):
        return tuple(str(name) for name in json.loads(spec_labels.removeprefix("names:")))
    expected = "imagenet1k, kinetics400, file:<path> or names:<JSON list>"
    raise ValueError(f"unknown label set {spec_labels!r}; expected {expected}")
