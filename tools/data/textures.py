"""Textured backgrounds and distractor strokes for the procedural datasets.

The backgrounds are the clutter a classifier has to look past: smooth noise, stripes, checkers,
gradients and soft blobs, each with random colours and contrast. Everything is float32 RGB in
[0, 1], shape (H, W, 3), drawn from a ``numpy.random.Generator`` so a seed fixes every pixel.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

BACKGROUNDS: tuple[str, ...] = ("noise", "stripes", "checkers", "gradient", "blobs")


def random_colour(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour in [0, 1] (uniform hue, varied saturation and value)."""
    h, s, v = rng.random(), rng.uniform(0.2, 1.0), rng.uniform(0.15, 1.0)
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, dtype=np.float32)


def _blend(weight: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = weight[..., None].astype(np.float32)  # (H, W, 1)
    return a * (1 - w) + b * w


def _coords(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    cells = int(rng.integers(3, 9))
    grid = (rng.random((cells, cells)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0


def _stripes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    xs, ys = _coords(h, w)
    theta = rng.uniform(0, math.pi)
    period = rng.uniform(5, max(6.0, min(h, w) / 3))
    wave = np.sin(2 * math.pi * (xs * math.cos(theta) + ys * math.sin(theta)) / period + rng.uniform(0, 6.3))
    sharp = rng.uniform(1, 6)
    return 0.5 + 0.5 * np.tanh(sharp * wave) / math.tanh(sharp)


def _checkers(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    xs, ys = _coords(h, w)
    theta = rng.uniform(0, math.pi / 2)
    cell = rng.uniform(5, max(6.0, min(h, w) / 4))
    u = (xs * math.cos(theta) + ys * math.sin(theta)) / cell
    v = (-xs * math.sin(theta) + ys * math.cos(theta)) / cell
    return ((np.floor(u) + np.floor(v)) % 2).astype(np.float32)


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    xs, ys = _coords(h, w)
    theta = rng.uniform(0, 2 * math.pi)
    d = xs * math.cos(theta) + ys * math.sin(theta)
    return (d - d.min()) / max(float(np.ptp(d)), 1e-6)


def _blobs(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(3, 9))):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        rx, ry = rng.uniform(0.08, 0.3) * w, rng.uniform(0.08, 0.3) * h
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=int(rng.integers(90, 256)))
    blurred = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 5)))
    return np.asarray(blurred, dtype=np.float32) / 255.0


_PATTERNS = {"noise": _noise, "stripes": _stripes, "checkers": _checkers, "gradient": _gradient, "blobs": _blobs}


def background(rng: np.random.Generator, h: int, w: int, kind: str | None = None, clutter: float = 1.0) -> np.ndarray:
    """A (H, W, 3) float32 textured background; ``kind`` random unless given.

    ``clutter`` in [0, 1] scales the texture's contrast (0: a flat colour).
    """
    kind = kind or BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    pattern = _PATTERNS[kind](rng, h, w)
    a, b = random_colour(rng), random_colour(rng)
    contrast = rng.uniform(0.2, 0.7) * clutter  # texture varies from faint to strong
    b = a + (b - a) * contrast
    img = _blend(pattern, a, b)
    if rng.random() < 0.5:  # a second, fainter layer so textures are not all clean
        kind2 = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
        img = _blend(_PATTERNS[kind2](rng, h, w) * rng.uniform(0.1, 0.35) * clutter, img, random_colour(rng))
    return img.astype(np.float32)


def stroke_layer(
    rng: np.random.Generator, h: int, w: int, count: int, width: tuple[int, int] = (1, 4)
) -> tuple[np.ndarray, np.ndarray]:
    """Random lines and arcs: coverage (H, W) in [0, 1] and a per-pixel colour (H, W, 3)."""
    canvas = Image.new("L", (w, h), 0)
    colours = np.zeros((h, w, 3), dtype=np.float32)
    for _ in range(count):
        layer = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(layer)
        wd = int(rng.integers(width[0], width[1] + 1))
        if rng.random() < 0.5:
            pts = rng.uniform(-0.1, 1.1, size=(int(rng.integers(2, 4)), 2)) * (w, h)
            draw.line([tuple(p) for p in pts], fill=255, width=wd, joint="curve")
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            r = rng.uniform(0.1, 0.5) * min(w, h)
            start = rng.uniform(0, 360)
            draw.arc((cx - r, cy - r, cx + r, cy + r), start, start + rng.uniform(60, 240), fill=255, width=wd)
        cover = np.asarray(layer)
        hit = np.nonzero(cover)  # strokes are thin: blend only where this one lands
        weight = (cover[hit] / 255.0).astype(np.float32)[:, None]
        colours[hit] = colours[hit] * (1 - weight) + random_colour(rng) * weight
        canvas = ImageChops.lighter(canvas, layer)
    return np.asarray(canvas, dtype=np.float32) / 255.0, colours


def composite(base: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Paint ``colour`` (3,) or (H, W, 3) over ``base`` with coverage ``alpha`` (H, W)."""
    return _blend(alpha, base, colour)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Clip a [0, 1] float image and quantise it."""
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def contrasting_colour(rng: np.random.Generator, against: np.ndarray, min_distance: float = 0.35) -> np.ndarray:
    """A random colour at least ``min_distance`` (RGB Euclidean, [0, 1] scale) from ``against``."""
    best, best_d = random_colour(rng), -1.0
    for _ in range(12):
        c = random_colour(rng)
        d = float(np.linalg.norm(c - against))
        if d >= min_distance:
            return c
        if d > best_d:
            best, best_d = c, d
    # Fall back to the farthest try pushed away from the background colour.
    far = np.where(against > 0.5, 0.0, 1.0).astype(np.float32)
    return (best + far) / 2 if best_d < min_distance else best
