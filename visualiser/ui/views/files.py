"""Files the views hand to the browser: fresh paths in the served temp folder, fast PNGs, hourly pruning."""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from visualiser.ui.views.heavy import figures

OUTPUT_MAX_AGE_S = 3600.0
F = TypeVar("F", bound=Callable[..., Any])


def output_dir() -> Path:
    """Where rendered files go; inside the temp dir, which Gradio is allowed to serve."""
    out = Path(tempfile.gettempdir()) / "attention-visualiser"
    out.mkdir(parents=True, exist_ok=True)
    return out


PRUNE_EVERY_S = 60.0  # the folder is listed at most this often (a view writes several pictures per click)
_last_prune: dict[Path, float] = {}  # per folder (a test's temporary folder is pruned at its first picture)


def new_output_path(stem: str, suffix: str) -> Path:
    """A fresh file path for one rendered output; files older than an hour are pruned first (once a minute)."""
    out = output_dir()
    now = time.time()
    if now - _last_prune.get(out, 0.0) >= PRUNE_EVERY_S:
        _last_prune[out] = now
        _prune(out, now - OUTPUT_MAX_AGE_S)
    return out / f"{stem}-{time.time_ns():x}{suffix}"


def _prune(out: Path, cutoff: float) -> None:
    for old in out.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
                else:
                    old.unlink()
        except FileNotFoundError:
            continue  # another request pruned it first


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


def as_png_path(value: Any) -> Any:
    """A view's picture as a PNG file's path: an RGB array or a matplotlib figure written (the figure rasterised
    once, by Agg, at its own size); a path or ``None`` as it is."""
    if isinstance(value, np.ndarray):
        return str(write_png(value))
    if hasattr(value, "savefig"):
        return str(write_png(figures.figure_to_rgb(value)))
    return value


def png_files(fn: F) -> F:
    """Send the RGB arrays a handler returns as PNG files written at zlib level 1.

    Gradio would encode them itself at Pillow's default level 6, which costs ~90 ms for a 640×520 overlay
    (measured; level 1 takes ~20 ms). Other return values pass through unchanged.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if isinstance(out, dict):
            return {k: _as_png_file(v) for k, v in out.items()}
        if isinstance(out, tuple | list):
            return type(out)(_as_png_file(v) for v in out)
        return _as_png_file(out)

    return wrapper  # type: ignore[return-value]
