"""Models built and loaded once per process and shared between requests.

Sharing is safe: models are in eval mode, and every capture hook acts only for its own request's calls
(``visualiser.capture.owned``). A user's own network, registered with ``pipeline.register_module``, is
kept here too under its generated name, next to the registry's models.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from torch import nn

from visualiser.analysis import Foreign
from visualiser.errors import InputError, ModelNotFoundError
from visualiser.labels import load_labels
from visualiser.models import uploads
from visualiser.models.embedded import generated_examples
from visualiser.models.loading import create_model
from visualiser.models.registry import ModelSpec, get_spec, list_specs
from visualiser.types import ProgressFn, Task


@dataclass(frozen=True)
class LoadedModel:
    """A ready model with its spec and class names; ``foreign`` is set for a user's own network."""

    spec: ModelSpec
    model: nn.Module
    labels: tuple[str, ...]
    foreign: Foreign | None = None


_CACHE: dict[str, LoadedModel] = {}
_FOREIGN: dict[str, LoadedModel] = {}  # register_module's networks: never rebuilt, never forgotten by name
_CACHE_LOCK = threading.Lock()
_LOAD_LOCKS: dict[str, threading.Lock] = {}


def get_model(name: str, progress: ProgressFn | None = None) -> LoadedModel:
    """The named model, built and loaded on first use, then shared; a weights download reports to ``progress``."""
    cached = _CACHE.get(name) or _FOREIGN.get(name)
    if cached is not None:
        return cached
    uploads.require_loaded(name)  # an uploaded network dropped from memory: "upload it again", on every path
    spec = get_spec(name)
    with _CACHE_LOCK:
        lock = _LOAD_LOCKS.setdefault(name, threading.Lock())
    with lock:
        if name not in _CACHE:
            model = create_model(name, pretrained=True, progress=progress)
            _CACHE[name] = LoadedModel(spec, model, load_labels(spec.labels))
    return _CACHE[name]


def keep_foreign(loaded: LoadedModel) -> None:
    """Keep a registered foreign network under its spec's name (``register_module`` calls it)."""
    with _CACHE_LOCK:
        _FOREIGN[loaded.spec.name] = loaded


def drop_foreign(name: str) -> None:
    """Forget a registered foreign network."""
    with _CACHE_LOCK:
        _FOREIGN.pop(name, None)


def foreign_models() -> list[LoadedModel]:
    """The foreign networks registered so far."""
    return list(_FOREIGN.values())


def forget_models(names: Iterable[str]) -> None:
    """Drop loaded models from the cache (an uploaded network dropped from memory, tests that unregister)."""
    with _CACHE_LOCK:
        for name in names:
            _CACHE.pop(name, None)


uploads.on_forgotten(forget_models)  # an evicted upload leaves no loaded copy behind


def loaded_model_names() -> list[str]:
    """Names of the models this process has loaded so far (the start-up test reads it)."""
    return sorted(_CACHE)


def check_task(loaded: LoadedModel, task: Task) -> None:
    """Refuse a model of the other task, naming the ones that fit."""
    if loaded.spec.task != task:
        raise InputError(
            f"model {loaded.spec.name!r} analyses {loaded.spec.task}s, not {task}s; "
            f"choose one of: {', '.join(s.name for s in list_specs(task))}"
        )


def checkpoint_provenance(loaded: LoadedModel) -> dict[str, Any] | None:
    """Where an uploaded checkpoint's network came from (file, digest, what was read and assumed), else None.

    The server-side path is left out: result files and bundles go to users.
    """
    if not loaded.spec.provided_by_user:
        return None
    try:
        record = uploads.checkpoint_info(loaded.spec.name).provenance()
    except ModelNotFoundError:  # a module handed to register_module, not a checkpoint
        return None
    record.pop("path", None)
    return record


def outside_notice(loaded: LoadedModel, source_sha1: str) -> str:
    """The sentence for an input outside what an embedded network learned; "" for every other network.

    Decided by the input's identity, not by a score: the embedded networks' out-of-distribution scores were
    measured not to tell real photos or clips from their generated data (docs/MODEL_CARDS.md), so every input
    that is not one of the model's shipped generated examples gets it.
    """
    spec, examples = loaded.spec, generated_examples(loaded.spec.name)
    if examples is None or loaded.foreign is not None or source_sha1 in examples:
        return ""
    return (
        f"Outside what {spec.title} learned ({spec.domain or 'its training data'}): this input is not one of the "
        "generated examples the network was made for. Its predictions are guesses among classes that do not fit. "
        "The gates are still exactly what the network computed for this input: they show how this network "
        "responds to it, not what a network trained on photos would see."
    )
