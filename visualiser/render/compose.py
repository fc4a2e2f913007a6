"""Putting RGB arrays together: stacking, padding, resizing, captions, colour bars, outlines, dimming, blending.

The eager views are drawn straight into numpy arrays, because matplotlib's per-axes cost (tens of
ms each) times 16 blocks would make the user wait longer than the forward pass; these are their
building blocks. Everything takes and returns ``(H, W, 3)`` uint8 arrays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from visualiser.render.colour import BACKGROUND, MESSAGE_BACKGROUND, MUTED, TEXT, lut
from visualiser.render.options import DEFAULT_CMAP
from visualiser.render.text import draw_text, printable, text_width


def vstack(parts: Sequence[np.ndarray], gap: int = 0) -> np.ndarray:
    """Stack RGB arrays top to bottom on white, left aligned."""
    width = max(p.shape[1] for p in parts)
    height = sum(p.shape[0] for p in parts) + gap * (len(parts) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    y = 0
    for p in parts:
        out[y : y + p.shape[0], : p.shape[1]] = p
        y += p.shape[0] + gap
    return out


def hstack(parts: Sequence[np.ndarray], gap: int = 0) -> np.ndarray:
    """Place RGB arrays left to right on white, top aligned."""
    height = max(p.shape[0] for p in parts)
    width = sum(p.shape[1] for p in parts) + gap * (len(parts) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for p in parts:
        out[: p.shape[0], x : x + p.shape[1]] = p
        x += p.shape[1] + gap
    return out


def pad_even(image: np.ndarray) -> np.ndarray:
    """Pad with white to even width and height (H.264 with yuv420p needs both even)."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    out = np.full((h + h % 2, w + w % 2, 3), 255, dtype=np.uint8)
    out[:h, :w] = image
    return out


def resize_rgb(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB array to ``(W, H)`` with Pillow (antialiased when shrinking)."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))


def fit_size(
    size: tuple[int, int], max_width: int, max_height: int | None = None, enlarge: bool = False
) -> tuple[int, int]:
    """``(W, H)`` scaled to fit the limits, keeping the aspect ratio; down only unless ``enlarge``."""
    width, height = size
    scale = min(max_width / width, (max_height or height) / height)
    if not enlarge:
        scale = min(1.0, scale)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_image(image: np.ndarray, max_width: int, max_height: int | None = None, enlarge: bool = False) -> np.ndarray:
    """The image resized by :func:`fit_size` (aspect kept)."""
    return resize_rgb(image, fit_size((image.shape[1], image.shape[0]), max_width, max_height, enlarge))


def dim(image: np.ndarray) -> np.ndarray:
    """The image desaturated halfway and darkened to 45 % (integer arithmetic: this runs on every pixel)."""
    pixels = image.astype(np.uint16)
    luma = (77 * pixels[..., 0] + 150 * pixels[..., 1] + 29 * pixels[..., 2]) >> 8
    return (((pixels + luma[..., None]) * 115) >> 9).astype(np.uint8)  # (0.5·rgb + 0.5·luma)·0.45


def dim_outside(image: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Dim the pixels the model never saw (outside the mask), so the eye goes to the crop."""
    return np.where(inside[..., None], image, dim(image))


def blend_region(base: np.ndarray, colours: np.ndarray, alpha: float) -> np.ndarray:
    """``(1 − alpha)·base + alpha·colours`` for uint8 arrays of one shape (8-bit fixed point)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    weight = round(alpha * 256)
    mixed = base.astype(np.uint16) * (256 - weight) + colours.astype(np.uint16) * weight + 128
    return (mixed >> 8).astype(np.uint8)


def outline(image: np.ndarray, box: Sequence[float], width: int = 2) -> np.ndarray:
    """The image with the box outlined (white inside a dark line, visible on any content)."""
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    left, top, right, bottom = (round(v) for v in box)
    right, bottom = min(right, image.shape[1]) - 1, min(bottom, image.shape[0]) - 1
    left, top = max(left, 0), max(top, 0)
    draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), outline=(0, 0, 0), width=1)
    draw.rectangle((left, top, right, bottom), outline=(255, 255, 255), width=width)
    return np.asarray(pil)


def caption(width: int, lines: Sequence[str], size: int = 14, height: int | None = None) -> np.ndarray:
    """White strip with one text line per entry (first line dark, the rest muted).

    A line too long for the strip is drawn smaller (down to 8 px) rather than cut at the picture's edge.
    """
    line_h = size + 4
    strip = Image.new("RGB", (width, height or line_h * len(lines) + 4), BACKGROUND)
    for i, line in enumerate(lines):
        fitted = size
        while fitted > 8 and text_width(line, fitted) > width - 10:
            fitted -= 1
        draw_text(strip, (6, 2 + i * line_h + (size - fitted) / 2), line, fitted, TEXT if i == 0 else MUTED)
    return np.asarray(strip)


def colorbar_strip(
    width: int, lo: float | str, hi: float | str, label: str, cmap: str = DEFAULT_CMAP, height: int = 40
) -> np.ndarray:
    """A horizontal colorbar with min and max ticks and a label that says what the colours mean.

    ``lo`` / ``hi`` are numbers, or words (``"min"``) when each panel has its own range printed on it.
    A label that does not fit between the ticks goes on its own line below them.
    """
    bar_h, margin = 10, 8
    low, high = _tick(lo), _tick(hi)
    y = 4 + bar_h + 3
    room = width - 2 * margin - text_width(low, 12) - text_width(high, 12) - 16
    own_line = text_width(label, 12) > room
    lines = _wrapped(label, width - 2 * margin, 12) if own_line else []
    strip = Image.new("RGB", (width, height + 16 * len(lines)), BACKGROUND)
    draw = ImageDraw.Draw(strip)
    bar_w = max(1, width - 2 * margin)
    ramp = lut(cmap)[np.linspace(0, 255, bar_w).round().astype(np.intp)]  # (bar_w, 3)
    strip.paste(Image.fromarray(np.repeat(ramp[None], bar_h, axis=0)), (margin, 4))
    draw.rectangle((margin - 1, 3, margin + bar_w, 4 + bar_h), outline=(60, 60, 60))
    draw_text(strip, (margin, y), low, 12)
    draw_text(strip, (margin + bar_w, y), high, 12, anchor="ra")
    if own_line:
        for i, line in enumerate(lines):
            draw_text(strip, (margin, y + 16 * (i + 1)), line, 12, MUTED)
    else:
        draw_text(strip, (width / 2, y), label, 12, MUTED, anchor="ma")
    return np.asarray(strip)


def _wrapped(text: str, width: int, size: int) -> list[str]:
    """``text`` in lines that each fit ``width`` pixels, broken between words or between CJK characters."""
    lines = [""]
    for token in _BREAKS.findall(text):
        trial = lines[-1] + token
        if lines[-1].strip() and text_width(trial.rstrip(), size) > width:
            lines.append(token.lstrip())
        else:
            lines[-1] = trial
    return [line.rstrip() for line in lines]


_BREAKS = re.compile(r"[\u2e80-\u9fff\uff00-\uffef]|[^\s\u2e80-\u9fff\uff00-\uffef]+\s*|\s+")


def _tick(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.3g}"


def message_image(text: str, width: int = 480, height: int = 160) -> np.ndarray:
    """A plain panel that explains why a view is empty (better than a blank or an exception)."""
    pil = Image.new("RGB", (width, height), MESSAGE_BACKGROUND)
    words, lines, line = printable(text).split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if text_width(trial, 14) > width - 24 and line:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    top = height / 2 - 9 * len(lines)
    for i, part in enumerate(lines):
        draw_text(pil, (width / 2, top + 18 * i), part, 14, TEXT, anchor="ma")
    return np.asarray(pil)
