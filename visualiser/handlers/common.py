"""Shared by every handler: result caches, input digests, output files, model lists and option checks."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from visualiser.errors import InputError, VisualiserError

ImageInput = str | os.PathLike | bytes | np.ndarray
ProgressFn = Callable[[float, str], None]
Label = dict[str, float]

OUTPUT_MAX_AGE_S = 3600.0
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "turbo", "gray")
NORMALISATIONS = ("block", "shared", "fixed01")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class Lru:
    """A tiny thread-safe LRU: the last few results, so a re-render never repeats a forward pass."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

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


def clear_caches() -> None:
    """Forget every cached result (tests use this to measure honest timings)."""
    for cache in (IMAGE_RESULTS, CLIP_RESULTS, PLANS):
        cache.clear()


def content_key(source: object) -> str:
    """A digest of what the user sent (file bytes, bytes or pixels), so equal inputs share a cache entry."""
    digest = hashlib.sha1(usedforsecurity=False)
    if isinstance(source, np.ndarray):
        digest.update(repr((source.shape, str(source.dtype))).encode())
        digest.update(np.ascontiguousarray(source).tobytes())
    elif isinstance(source, bytes):
        digest.update(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path.name}: the uploaded file is no longer on the server; please upload it again")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    else:
        raise InputError("please upload an image or a clip first")
    return digest.hexdigest()


def output_dir() -> Path:
    """Where rendered files go; inside the temp dir, which Gradio is allowed to serve."""
    out = Path(tempfile.gettempdir()) / "attention-visualiser"
    out.mkdir(parents=True, exist_ok=True)
    return out


def new_output_path(stem: str, suffix: str) -> Path:
    """A fresh file path for one rendered output; files older than an hour are pruned first."""
    out = output_dir()
    cutoff = time.time() - OUTPUT_MAX_AGE_S
    for old in out.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink()
        except FileNotFoundError:
            continue  # another request pruned it first
    return out / f"{stem}-{time.time_ns():x}{suffix}"


PNG_COMPRESS_LEVEL = 1  # zlib level 1: ~4x faster than Pillow's default 6 on heatmaps, files ~10 % larger


def write_png(image: np.ndarray, stem: str = "figure") -> Path:
    """Save an RGB array as a PNG in the output folder, quickly (what the front ends send to browsers)."""
    from PIL import Image

    path = new_output_path(stem, ".png")
    Image.fromarray(np.ascontiguousarray(image)).save(path, format="png", compress_level=PNG_COMPRESS_LEVEL)
    return path


def _as_png_file(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.ndim == 3 and value.dtype == np.uint8:
        return str(write_png(value))
    return value


def png_files(fn: F) -> F:
    """Send the RGB arrays a handler returns as PNG files written at zlib level 1.

    Gradio would encode them itself at Pillow's default level 6, which costs ~90 ms for a 640×520 overlay
    (measured; level 1 takes ~20 ms). Other return values pass through unchanged.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if isinstance(out, tuple | list):
            return type(out)(_as_png_file(v) for v in out)
        return _as_png_file(out)

    return wrapper  # type: ignore[return-value]


def require(value: object, what: str) -> None:
    if value is None or (isinstance(value, str) and not value):
        raise InputError(f"please {what} first")


def predictions_label(predictions: Any) -> Label:
    """Predictions as the ``{label: probability}`` mapping a label widget shows.

    Two classes with the same display name keep both entries (the second gets its class index).
    """
    out: Label = {}
    for p in predictions:
        name = p.label if p.label not in out else f"{p.label} (#{p.index})"
        out[name] = float(p.probability)
    return out


def model_choices(task: str) -> list[tuple[str, str]]:
    """Dropdown entries ``(display, name)``: embedded models first, download sizes for the others."""
    from visualiser.models.registry import list_specs
    from visualiser.models.weights import weights_available

    choices = []
    for spec in list_specs(task):  # type: ignore[arg-type]
        if spec.embedded or spec.weights.kind in ("embedded", "none"):
            note = "embedded"
        elif weights_available(spec):
            note = "ImageNet, cached" if task == "image" else "cached"
        else:
            note = f"{spec.weights.size_mb:.0f} MB download"
        choices.append((f"{spec.title} · {note}", spec.name))
    return choices


def default_model(task: str) -> str | None:
    """The pipeline's default for the task, or the first registered model when none has weights here."""
    from visualiser.models import defaults
    from visualiser.models.registry import list_specs

    try:
        return defaults.default_model(task)
    except VisualiserError:
        specs = list_specs(task)  # type: ignore[arg-type]
        return specs[0].name if specs else None


def warm_up() -> None:
    """Import torch, matplotlib and the pipeline and load the default models, for a server that is already up.

    The page is served before any of this is imported (cold start); running it in a background thread right
    after launch means the first visitor's analysis does not pay for it either.
    """
    from visualiser import pipeline
    from visualiser.render import render_all  # noqa: F401  (matplotlib and the renderers)

    for task in ("image", "clip"):
        name = default_model(task)
        if name is not None:
            optional(lambda name=name: pipeline.get_model(name))


def is_embedded(name: str | None) -> bool:
    """Whether ``name`` is one of the small embedded models (trained on generated shapes / motions)."""
    from visualiser.models.registry import get_spec

    return name is not None and get_spec(name).embedded


def clip_model_choices() -> list[tuple[str, str]]:
    """Clip tab: 3-D clip models first, then image models (run frame by frame)."""
    frame_by_frame = [(f"{label} · per frame", name) for label, name in model_choices("image")]
    return model_choices("clip") + frame_by_frame


def optional(make: Callable[[], T]) -> T | None:
    try:
        return make()
    except (VisualiserError, NotImplementedError):
        return None


def check_cmap(cmap: str) -> str:
    if cmap not in COLORMAPS:
        raise InputError(f"unknown colour map {cmap!r}; choose one of {', '.join(COLORMAPS)}")
    return cmap


def check_normalise(normalise: str) -> Any:
    if normalise not in NORMALISATIONS:
        raise InputError(f"normalisation must be one of {', '.join(NORMALISATIONS)}, not {normalise!r}")
    return normalise


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha must be between 0 and 1, not {alpha}")
    return alpha


def timings_text(timings: Any) -> str:
    """``decode 3 ms · preprocess 2 ms · forward 41 ms`` from the result's timings."""
    parts = [f"{k.removesuffix('_s')} {1000 * float(v):.0f} ms" for k, v in dict(timings).items()]
    return " · ".join(parts)
