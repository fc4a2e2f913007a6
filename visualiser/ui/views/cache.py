"""Small per-process result caches keyed by what the user sent, so identical inputs share one forward pass.

The Image, Clip and 3D tabs carry their result from the public event to the views in ``gr.State``; these
caches only let identical inputs (the shipped examples, a user pressing Analyse twice) share the work.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import numpy as np

from visualiser.errors import InputError
from visualiser.models.registry import get_spec
from visualiser.ui.views.heavy import digest

T = TypeVar("T")


class Lru:
    """A tiny thread-safe LRU: the last few results, so a re-render never repeats a forward pass."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """How many results it keeps (the load test fills it before it measures memory)."""
        return self._size

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: other requests must not wait for this forward pass
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def get(self, key: Hashable) -> Any:
        """The cached value, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


IMAGE_RESULTS = Lru(8)
CLIP_RESULTS = Lru(3)
PLANS = Lru(4)


class Same:
    """A cache-key part equal only to itself's object (by identity), which it keeps alive.

    A model's registry name can be given to another network (``visualiser.launch`` twice in one notebook, an
    upload under a name used before): results must be keyed by the registration, not the name alone, and
    holding the object means its ``id`` cannot be reused while the key exists.
    """

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.obj is self.obj


def model_key(name: str | None) -> tuple[str | None, Same | None]:
    """The model part of a cache key: its name and its registration (``Same`` of its spec)."""
    if name is None:
        return None, None
    return name, Same(get_spec(name))


def clear_caches() -> None:
    """Forget every cached result (tests use this to measure honest timings)."""
    for cache in (IMAGE_RESULTS, CLIP_RESULTS, PLANS):
        cache.clear()


def content_key(source: object) -> str:
    """A digest of what the user sent (file bytes, bytes or pixels), so equal inputs share a cache entry."""
    if isinstance(source, np.ndarray):
        pixels = hashlib.sha1(usedforsecurity=False)
        pixels.update(repr((source.shape, str(source.dtype))).encode())
        pixels.update(np.ascontiguousarray(source).tobytes())
        return pixels.hexdigest()
    if isinstance(source, bytes | str | os.PathLike):
        return digest.source_sha1(source)
    raise InputError("please upload an image or a clip first")
