"""A font that has Σ, ⌊, ⌋ and −, without depending on what the host has installed.

matplotlib (a runtime dependency) ships DejaVu Sans, which covers every symbol the animation
writes; Pillow's own bundled default font (Aileron) lacks Σ and ⌊, so it is only a fallback, and
then the text is rewritten in ASCII rather than drawn as empty boxes.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_ASCII = str.maketrans({"Σ": "sum ", "⌊": "floor(", "⌋": ")", "·": "*", "−": "-", "×": "x", "…": "...", "→": "->"})


@lru_cache(maxsize=1)
def _dejavu_path() -> Path | None:
    """DejaVu Sans from matplotlib's data folder (found without importing matplotlib), or None."""
    found = importlib.util.find_spec("matplotlib")
    for folder in (found.submodule_search_locations or []) if found else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=16)
def load_font(size: int) -> Font:
    """DejaVu Sans at ``size`` px, else Pillow's bundled default font."""
    path = _dejavu_path()
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def has_symbols() -> bool:
    """Whether the loaded font can draw the maths symbols."""
    return _dejavu_path() is not None


def printable(text: str) -> str:
    """The text itself when the font has the symbols, an ASCII spelling otherwise."""
    return text if has_symbols() else text.translate(_ASCII)
