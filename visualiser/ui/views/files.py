"""Files the views hand to the browser: fresh paths in the served temp folder, fast PNGs, hourly pruning."""

from __future__ import annotations

import functools
import shutil
import struct
import tempfile
import time
import zlib
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


PNG_COMPRESS_LEVEL = 1  # zlib level 1: ~4x faster than level 6 (Gradio's, via Pillow) on heatmaps, files ~10 % larger


def png_bytes(image: np.ndarray) -> bytes:
    """An RGB (or grey) uint8 array as a PNG file's bytes, written here rather than by Pillow: every row with the
    "Up" filter (the difference to the row above, one numpy subtraction) and zlib at level 1. On the views'
    pictures (overlays, charts, grids) this takes half Pillow's time at level 1 for files of about the same size
    (Pillow chooses a filter per row). Lossless: any decoder gives back ``image`` exactly."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"a PNG needs an (H, W), (H, W, 3) or (H, W, 4) uint8 array, not {image.dtype} {image.shape}")
    height, width = image.shape[:2]
    colour = 0 if image.ndim == 2 else {3: 2, 4: 6}[image.shape[2]]  # PNG colour type: grey, RGB, RGBA
    rows = np.ascontiguousarray(image).reshape(height, -1)
    data = np.empty((height, rows.shape[1] + 1), dtype=np.uint8)
    data[:, 0] = 2  # filter type 2, "Up"
    data[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=data[1:, 1:])  # modulo 256, as the filter is defined
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    body = zlib.compress(data, PNG_COMPRESS_LEVEL)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(image: np.ndarray, stem: str = "figure") -> Path:
    """Save an RGB array as a PNG in the output folder, quickly (what the front ends send to browsers)."""
    path = new_output_path(stem, ".png")
    path.write_bytes(png_bytes(image))
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
