"""The one typeface of every drawn picture, and text drawn with it from cached glyph masks.

DejaVu Sans is the face: matplotlib (a runtime dependency) ships it, so the detailed figures, the
eager views and the 3D-convolution animation all use the same letters, and it has every symbol the
renderers write (×, −, →, Σ, ⌊, σ, ²). It is found without importing matplotlib (that import costs
~0.2 s on a cold start). Should it be missing, Pillow's bundled font is used instead, which lacks
those symbols: the text is then spelled in ASCII rather than drawn as empty boxes.

Chinese figure text needs a CJK face, which DejaVu lacks: each CJK character is drawn from the first
CJK font found on the system (``CJK_FONT_FILES``; Debian's fonts-wqy-microhei, which CI installs).
Without one, ``has_cjk`` is False and the renderers keep their figure text in English
(``visualiser.render.words``) rather than draw empty boxes.
"""

from __future__ import annotations

import importlib.util
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from visualiser.render.colour import TEXT

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]

# What Pillow's bundled font (Aileron) cannot draw, spelled in ASCII; it does have "·" and "…".
ASCII_SPELLINGS = {
    "×": "x",
    "−": "-",
    "–": "-",
    "≥": ">=",
    "≤": "<=",
    "→": "->",
    "σ": "sigmoid",
    "²": "^2",
    "Σ": "sum ",
    "⌊": "floor(",
    "⌋": ")",
}
_ASCII = str.maketrans(ASCII_SPELLINGS)


@lru_cache(maxsize=1)
def font_path() -> Path | None:
    """DejaVu Sans in matplotlib's data folder, or None when it is not there."""
    found = importlib.util.find_spec("matplotlib")
    for folder in (found.submodule_search_locations or []) if found else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    return None


def has_symbols() -> bool:
    """Whether the face in use can draw the maths symbols (DejaVu was found)."""
    return font_path() is not None


# CJK faces, first found wins (Debian / Ubuntu package paths; Noto CJK as packaged by Debian and Fedora).
CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The first CJK font file on this system, or None."""
    return next((Path(p) for p in CJK_FONT_FILES if Path(p).is_file()), None)


def has_cjk() -> bool:
    """Whether Chinese text can be drawn (a CJK face was found)."""
    return cjk_font_path() is not None


def is_cjk(char: str) -> bool:
    """Whether the character needs the CJK face (CJK ideographs, punctuation, full-width forms, kana)."""
    code = ord(char)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFFEF


@lru_cache(maxsize=32)
def cjk_font(size: int = 14) -> Font:
    """The CJK face at ``size`` pixels (the normal face when there is none)."""
    path = cjk_font_path()
    return ImageFont.truetype(str(path), size) if path is not None else font(size)


def font_for(text: str, size: int) -> Font:
    """The face that can draw the whole of ``text`` in one call: the CJK face if it holds any CJK character."""
    return cjk_font(size) if any(is_cjk(c) for c in text) else font(size)


@lru_cache(maxsize=32)
def font(size: int = 14) -> Font:
    """The face at ``size`` pixels: DejaVu Sans, else Pillow's bundled font (same text on every host)."""
    path = font_path()
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def ascii_spelling(text: str) -> str:
    """The text with every symbol the bundled font lacks spelled in ASCII."""
    return text.translate(_ASCII)


def printable(text: str) -> str:
    """The text as the face in use can draw it: unchanged with DejaVu, in ASCII with the fallback."""
    return text if has_symbols() else ascii_spelling(text)


def line_width(text: str, size: int) -> float:
    """Width in pixels of ``text`` drawn by Pillow in ``font_for(text, size)`` (one face per call)."""
    return font_for(text, size).getlength(printable(text))


@lru_cache(maxsize=2048)
def _glyph(char: str, size: int) -> tuple[np.ndarray, int, int, float]:
    """One character's coverage mask, its offset from the pen position (left, top of the ascender line), advance."""
    face = cjk_font(size) if is_cjk(char) else font(size)
    left, top, right, bottom = face.getbbox(char, anchor="la")
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), char, font=face, fill=255, anchor="la")
    return np.asarray(mask), left, top, face.getlength(char)


@lru_cache(maxsize=1024)
def text_mask(text: str, size: int = 14) -> np.ndarray:
    """Coverage mask ``(ascent + descent, width)`` uint8 of one line of text (read-only).

    Built from cached glyphs: Pillow's own ``ImageDraw.text`` costs ~0.6 ms per call, which for
    the hundred labels of the eager views would cost more than drawing everything else.
    """
    face = font(size)
    ascent, descent = face.getmetrics()
    pen, placed = 0.0, []
    for char in printable(text):
        mask, left, top, advance = _glyph(char, size)
        placed.append((round(pen) + left, top, mask))
        pen += advance
    width = max([math.ceil(pen)] + [x + m.shape[1] for x, _, m in placed] + [1])
    out = np.zeros((ascent + descent, width), dtype=np.uint8)
    for x, y, mask in placed:
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + mask.shape[1], width), min(y + mask.shape[0], out.shape[0])
        if x1 > x0 and y1 > y0:
            region = out[y0:y1, x0:x1]
            np.maximum(region, mask[y0 - y : y1 - y, x0 - x : x1 - x], out=region)
    out.setflags(write=False)
    return out


def text_width(text: str, size: int = 14) -> int:
    """Width in pixels of ``text`` as ``draw_text`` draws it."""
    return text_mask(text, size).shape[1]


def shorten(text: str, width: float, size: int = 14) -> str:
    """``text``, cut and ended with "..." to fit ``width`` pixels (unchanged when it fits).

    The longest fitting prefix is found by bisection, in O(log n) measurements, each of at most about
    ``width`` characters: every glyph that draws anything advances the pen at least a pixel, so a longer
    prefix cannot fit (a megabyte-long class name costs the same as a short one).
    """
    bound = max(0, int(width)) + 1
    if len(text) <= bound and text_width(text, size) <= width:
        return text
    low, high = 0, min(len(text), bound)  # text[:low] + "..." fits (or low is 0); text[:high + 1] + "..." does not
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(text[:middle] + "...", size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "..."


def draw_text(
    image: Image.Image,
    xy: tuple[float, float],
    text: str,
    size: int = 14,
    fill: RGB = TEXT,
    anchor: str = "la",
) -> None:
    """Draw one line of ``text`` onto a Pillow RGB image.

    ``anchor`` as in Pillow, restricted to horizontal ``l``/``m``/``r`` and vertical ``a`` (top of the
    ascender) / ``m`` (middle of the line).
    """
    if not text:
        return
    mask = text_mask(text, size)
    x, y = xy
    if anchor[0] == "m":
        x -= mask.shape[1] / 2
    elif anchor[0] == "r":
        x -= mask.shape[1]
    if anchor[1] == "m":
        y -= mask.shape[0] / 2
    image.paste(fill, (round(x), round(y)), Image.fromarray(mask))
