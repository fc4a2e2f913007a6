"""Shared drawing helpers: colour lookup tables, honest value ranges, Pillow text and Figure → RGB.

The eager views (overview, barcode, spatial grid, top-k) are drawn straight into numpy arrays,
because matplotlib's per-axes cost (tens of ms each) times 16 blocks would make the user wait
longer than the forward pass. The detailed per-block views are matplotlib ``Figure`` objects on
an Agg canvas (never pyplot), rendered only when the user selects them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from visualiser.render.options import DEFAULT_CMAP, Normalise

BACKGROUND = (255, 255, 255)
TEXT = (25, 25, 25)
MUTED = (110, 110, 110)

# Pillow's bundled font (Aileron) lacks these glyphs; write them in ASCII rather than as empty boxes.
_ASCII = str.maketrans({"×": "x", "−": "-", "–": "-", "≥": ">=", "≤": "<=", "→": "->", "σ": "sigmoid", "²": "^2"})


@lru_cache(maxsize=16)
def font(size: int = 14) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font, so text looks the same on every host (no system fonts)."""
    return ImageFont.load_default(size=size)


def ascii_text(text: str) -> str:
    """The text with the symbols the bundled font cannot draw spelled out."""
    return text.translate(_ASCII)


@lru_cache(maxsize=2048)
def _glyph(char: str, size: int) -> tuple[np.ndarray, int, int, float]:
    """One character's coverage mask, its offset from the pen position (left, top of the ascender line), advance."""
    face = font(size)
    left, top, right, bottom = face.getbbox(char, anchor="la")
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), char, font=face, fill=255, anchor="la")
    return np.asarray(mask), left, top, face.getlength(char)


@lru_cache(maxsize=1024)
def text_mask(text: str, size: int = 14) -> np.ndarray:
    """Coverage mask ``(ascent + descent, width)`` uint8 of one line of text.

    Built from cached glyphs: Pillow's own ``ImageDraw.text`` costs ~0.6 ms per call, which for
    the hundred labels of the eager views would cost more than drawing everything else.
    """
    face = font(size)
    ascent, descent = face.getmetrics()
    glyphs = [_glyph(c, size) for c in ascii_text(text)]
    pen, placed = 0.0, []
    for mask, left, top, advance in glyphs:
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


def draw_text(
    image: Image.Image,
    xy: tuple[float, float],
    text: str,
    size: int = 14,
    fill: tuple[int, int, int] = TEXT,
    anchor: str = "la",
) -> None:
    """Draw one line of ``text`` onto a Pillow RGB image with the bundled font.

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


@lru_cache(maxsize=32)
def lut(cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """``(256, 3)`` uint8 lookup table of a matplotlib colormap (raises ValueError for unknown names)."""
    from matplotlib import colormaps

    try:
        cm = colormaps[cmap]
    except KeyError as exc:
        raise ValueError(f"unknown colormap {cmap!r}") from exc
    table = np.round(cm(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)
    table.setflags(write=False)
    return table


def scale01(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Values mapped linearly so that ``lo`` → 0 and ``hi`` → 1, clipped; a flat range maps to 0.5."""
    span = hi - lo
    if not np.isfinite(span) or span <= 1e-12:
        return np.full(np.shape(values), 0.5, dtype=np.float32)
    return np.clip((np.asarray(values, dtype=np.float32) - lo) / span, 0.0, 1.0)


def colourise(values: np.ndarray, lo: float, hi: float, cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """``(..., 3)`` uint8 colours of ``values`` on the range [lo, hi]."""
    index = (scale01(values, lo, hi) * 255 + 0.5).astype(np.uint8)
    return lut(cmap)[index]


def value_range(maps: Sequence[np.ndarray], how: Normalise, own: np.ndarray) -> tuple[float, float]:
    """The colour range for ``own``: its own min/max, the min/max over ``maps``, or the gate's [0, 1]."""
    if how == "fixed01":
        return 0.0, 1.0
    if how == "shared":
        if not maps:
            raise ValueError("shared normalisation needs at least one map")
        return float(min(m.min() for m in maps)), float(max(m.max() for m in maps))
    if how == "block":
        return float(own.min()), float(own.max())
    raise ValueError(f"normalise must be 'block', 'shared' or 'fixed01', not {how!r}")


def new_figure(width: float, height: float, dpi: int = 100, layout: str | None = "constrained") -> Figure:
    """A ``Figure`` with an Agg canvas attached, no pyplot state involved (constrained layout by default)."""
    fig = Figure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def message_figure(text: str, width: float = 7.0, height: float = 1.4) -> Figure:
    """A figure that says why a plot is empty (what a figure slot shows instead of nothing)."""
    fig = new_figure(width, height)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    return fig


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Render a Figure to an ``(H, W, 3)`` uint8 array."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def bilinear_taps(n_out: int, start: float, stop: float, n_src: int) -> tuple[np.ndarray, ...]:
    """Source indices and weights for ``n_out`` output pixels from ``n_src`` cells spanning [start, stop).

    Output pixel ``k`` has its centre at ``k + 0.5``; source cell ``j`` has its centre at
    ``start + (j + 0.5) · (stop − start) / n_src`` (half-pixel convention, edges clamped, like
    Pillow's and torch's ``align_corners=False``). Returns ``(i0, i1, frac, inside)``: output k is
    ``(1 − frac)·src[i0] + frac·src[i1]``, and ``inside`` says whether its centre lies in [start, stop).
    """
    centres = np.arange(n_out, dtype=np.float64) + 0.5
    inside = (centres >= start) & (centres < stop)
    u = (centres - start) / max(stop - start, 1e-12) * n_src - 0.5
    u = np.clip(u, 0.0, n_src - 1)
    i0 = np.floor(u).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, (u - i0).astype(np.float32), inside


def map_onto_canvas(
    grid: np.ndarray,
    box: tuple[float, float, float, float],
    canvas_size: tuple[int, int],
    rows: tuple[int, int] | None = None,
    columns: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bilinearly upsample a ``(h, w)`` grid that covers ``box`` (l, t, r, b) of a ``(W, H)`` canvas.

    Returns the ``(H, W)`` float32 values and a boolean mask of the pixels inside the box; values
    outside the box are edge-clamped and should be ignored (the mask says where the map is real).
    ``rows`` / ``columns`` = (first, last) restrict the output to that window of the canvas.
    Separable gathers, not matrix products: small BLAS calls cost more in thread start-up than work.
    """
    width, height = canvas_size
    left, top, right, bottom = box
    src = np.asarray(grid, dtype=np.float32)
    r0, r1 = rows or (0, height)
    c0, c1 = columns or (0, width)
    y0, y1, fy, inside_y = (a[r0:r1] for a in bilinear_taps(height, top, bottom, src.shape[0]))
    x0, x1, fx, inside_x = (a[c0:c1] for a in bilinear_taps(width, left, right, src.shape[1]))
    lines = src[y0] * (1.0 - fy)[:, None] + src[y1] * fy[:, None]  # (H, w)
    values = lines[:, x0] * (1.0 - fx) + lines[:, x1] * fx  # (H, W)
    return values, inside_y[:, None] & inside_x[None, :]


def scaled_box(box: tuple[float, float, float, float], scale_x: float, scale_y: float) -> tuple[float, ...]:
    """A box in original pixels expressed in a resized canvas's pixels."""
    return (box[0] * scale_x, box[1] * scale_y, box[2] * scale_x, box[3] * scale_y)


def dim(image: np.ndarray) -> np.ndarray:
    """The image desaturated halfway and darkened to 45 % (integer arithmetic: this runs on every pixel)."""
    pixels = image.astype(np.uint16)
    luma = (77 * pixels[..., 0] + 150 * pixels[..., 1] + 29 * pixels[..., 2]) >> 8
    return (((pixels + luma[..., None]) * 115) >> 9).astype(np.uint8)  # (0.5·rgb + 0.5·luma)·0.45


def dim_outside(image: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Dim the pixels the model never saw (outside the mask), so the eye goes to the crop."""
    return np.where(inside[..., None], image, dim(image))


def pixel_span(start: float, stop: float, limit: int) -> tuple[int, int]:
    """Pixels ``[first, last)`` whose centres ``k + 0.5`` lie in [start, stop), clipped to 0..limit."""
    first = min(max(math.ceil(start - 0.5), 0), limit)
    last = min(max(math.ceil(stop - 0.5), first), limit)
    return first, last


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
    strip = Image.new("RGB", (width, height + (16 if own_line else 0)), BACKGROUND)
    draw = ImageDraw.Draw(strip)
    bar_w = max(1, width - 2 * margin)
    ramp = lut(cmap)[np.linspace(0, 255, bar_w).round().astype(np.intp)]  # (bar_w, 3)
    strip.paste(Image.fromarray(np.repeat(ramp[None], bar_h, axis=0)), (margin, 4))
    draw.rectangle((margin - 1, 3, margin + bar_w, 4 + bar_h), outline=(60, 60, 60))
    draw_text(strip, (margin, y), low, 12)
    draw_text(strip, (margin + bar_w, y), high, 12, anchor="ra")
    if own_line:
        draw_text(strip, (margin, y + 16), label, 12, MUTED)
    else:
        draw_text(strip, (width / 2, y), label, 12, MUTED, anchor="ma")
    return np.asarray(strip)


def _tick(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.3g}"


def caption(width: int, lines: Sequence[str], size: int = 14, height: int | None = None) -> np.ndarray:
    """White strip with one text line per entry (first line dark, the rest muted)."""
    line_h = size + 4
    strip = Image.new("RGB", (width, height or line_h * len(lines) + 4), BACKGROUND)
    for i, line in enumerate(lines):
        draw_text(strip, (6, 2 + i * line_h), line, size, TEXT if i == 0 else MUTED)
    return np.asarray(strip)


def message_image(text: str, width: int = 480, height: int = 160) -> np.ndarray:
    """A plain panel that explains why a view is empty (better than a blank or an exception)."""
    pil = Image.new("RGB", (width, height), (245, 245, 245))
    words, lines, line = ascii_text(text).split(), [], ""
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
