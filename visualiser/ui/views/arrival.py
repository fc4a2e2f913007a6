"""What each tab shows before anyone clicks: a finished, real result on a shipped example.

Computed once per process (the warm-up thread does it right after launch, so the first visitor rarely waits)
and then handed to every page load; nothing here runs on a request path after that. Files it writes live in
a folder of their own that the hourly sweep of rendered outputs leaves alone.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

from visualiser import catalogue
from visualiser.errors import VisualiserError
from visualiser.types import Task

logger = logging.getLogger("visualiser.ui")
T = TypeVar("T")

_DONE: dict[Hashable, Any] = {}
_LOCK = threading.Lock()


def once(key: Hashable, make: Callable[[], T]) -> T | None:
    """``make()`` the first time (None, logged, if it fails for a user-facing reason), then the same value."""
    with _LOCK:
        if key in _DONE:
            return _DONE[key]
        try:
            value = make()
        except VisualiserError as err:  # e.g. the default model's weights are not on this machine
            logger.warning("no arrival example for %s: %s", key, err)
            value = None
        _DONE[key] = value
        return value


def arrival_dir() -> Path:
    """Where arrival files live: beside the rendered outputs, outside the hourly sweep."""
    folder = Path(tempfile.gettempdir()) / "attention-visualiser-arrival"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def first_example(task: Task, model: str | None = None) -> Path | None:
    """The first shipped example for ``model`` (default: the task's): a generated one for an embedded model."""
    model = model or catalogue.default_model(task)
    files = catalogue.example_files(task, embedded_first=catalogue.is_embedded(model))
    return files[0] if files else None
