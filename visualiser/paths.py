"""Where the project's own files are: the one place that walks up from ``__file__``.

Everything shipped with the code (weights, labels, examples, the Learn text) is found from here, so a
moved module never breaks a path and tests can point at the same folders.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
ASSETS_DIR = PACKAGE_DIR / "assets"
MODELS_DIR = ASSETS_DIR / "models"
LABELS_DIR = ASSETS_DIR / "labels"
EXAMPLES_DIR = ASSETS_DIR / "examples"
LEARN_DIR = PACKAGE_DIR / "learn"
APP_PATH = REPO_ROOT / "app.py"

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"})
CLIP_SUFFIXES = frozenset({".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg"})


def stats_path(model: str) -> Path:
    """Where a model's class-mean excitation statistics (the SE Fig. 6 reference) are kept."""
    return MODELS_DIR / f"{model}.stats.npz"


def source_name(source: object) -> str:
    """The file name of an input given as a path (never the folder it sits in); "" for bytes or arrays."""
    return Path(source).name if isinstance(source, str | Path) or hasattr(source, "__fspath__") else ""


def is_clip_path(path: str | Path) -> bool:
    """Whether a file name says clip (its suffix is one of ``CLIP_SUFFIXES``); animated GIFs count as images."""
    return Path(path).suffix.lower() in CLIP_SUFFIXES
