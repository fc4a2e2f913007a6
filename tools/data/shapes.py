"""Objects in clutter: one shape per image on a textured background, with distractors.

The task is built so that a classifier has to find the object before it can name it: the
object sits anywhere at any scale, angle and colour, over stripes / checkers / noise that
carry edges of their own, with stray strokes underneath and on top and, often, an occluder
hiding part of it. Every sample keeps the visible object's mask and box, which is what the
CBAM pointing game scores the spatial gate against.

Deterministic: sample ``i`` of stream ``seed`` depends only on ``(seed, i)``, so any slice of a
stream can be regenerated (training resumes mid-stream; evaluation uses a different seed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from tools.data.geometry import RING_INNER, SHAPES, mask_box, shape_alpha
from tools.data.textures import background, composite, contrasting_colour, stroke_layer, to_uint8

GENERATOR_VERSION = "shapes-1"
CLASSES: tuple[str, ...] = SHAPES
DEFAULT_SIZE = 112
RADIUS_RANGE = (0.15, 0.27)  # object radius as a share of the image side
MIN_VISIBLE = 0.8  # an occluder may hide at most a fifth of the object


@dataclass(frozen=True)
class ShapeSample:
    """One generated image with its ground truth."""

    image: np.ndarray  # (H, W, 3) uint8
    label: int
    mask: np.ndarray  # (H, W) bool: visible object pixels
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) around the visible object, x1/y1 exclusive


@dataclass(frozen=True)
class ShapeBatch:
    """Stacked samples, ready for a training step."""

    images: np.ndarray  # (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) int64
    masks: np.ndarray  # (N, H, W) bool
    boxes: np.ndarray  # (N, 4) int64


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator behind sample ``index`` of stream ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def _occluder(rng: np.random.Generator, size: int, cx: float, cy: float, r: float) -> np.ndarray:
    """Coverage of a band (a post or a branch in front of the object) crossing the whole image.

    It runs edge to edge off the object's centre, so it never ends at the object and cannot lend it
    a shaft (a triangle plus a short bar would read as an arrow).
    """
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    t = rng.uniform(0, math.pi)
    u, v = np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
    centre = np.array([cx, cy]) + v * r * rng.uniform(0.35, 0.9) * rng.choice([-1, 1])
    half_w, half_l = r * rng.uniform(0.12, 0.25), 2.0 * size
    corners = [centre + a * half_l * u + b * half_w * v for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
    draw.polygon([tuple(c) for c in corners], fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def make_sample(
    rng: np.random.Generator, size: int = DEFAULT_SIZE, label: int | None = None, clutter: float = 1.0
) -> ShapeSample:
    """Draw one image; ``label`` is random unless given.

    ``clutter`` in [0, 1] scales everything that hides the object: background contrast, strokes,
    the chance of an occluder and the noise. Evaluation always uses 1 (the full task); training
    ramps it up from easy samples, which a network from scratch needs to get started.
    """
    if label is None:
        label = int(rng.integers(len(CLASSES)))
    kind = CLASSES[label]
    # Below full clutter some samples are "easy": a darkened background under a light object. A network
    # from scratch learns shapes from these first; random colours and polarity alone stall it for a long time.
    easy = rng.random() >= clutter
    img = background(rng, size, size, clutter=clutter)
    if easy:
        img = img * 0.45

    cover, colours = stroke_layer(rng, size, size, int(rng.integers(1, 6)), width=(1, 3))
    img = composite(img, cover * rng.uniform(0.5, 1.0) * clutter, colours)

    r = rng.uniform(*RADIUS_RANGE) * size
    cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
    style = "filled" if rng.random() < 0.6 else "outline"
    alpha = shape_alpha(
        kind,
        size,
        cx,
        cy,
        r,
        angle=rng.uniform(0, 2 * math.pi),
        style=style,
        stroke=rng.uniform(0.16, 0.26),
        ring_inner=rng.uniform(*RING_INNER),
    )
    x0, y0, x1, y1 = (max(0, int(v)) for v in (cx - r, cy - r, cx + r + 1, cy + r + 1))
    colour = contrasting_colour(rng, img[y0:y1, x0:x1].reshape(-1, 3).mean(0), 0.4 + 0.2 * (1 - clutter))
    if easy:
        colour = 0.5 + 0.5 * colour
    shade = 1.0 + rng.uniform(-0.15, 0.15) * np.linspace(-1, 1, size, dtype=np.float32)[:, None, None]
    img = composite(img, alpha, np.clip(colour * shade, 0, 1))

    visible = alpha
    if rng.random() < 0.4 * clutter:
        occ = _occluder(rng, size, cx, cy, r)
        candidate = alpha * (1 - occ)
        if candidate.sum() >= MIN_VISIBLE * alpha.sum():
            # Filled with a texture of its own, so it reads as a foreign object, not part of the shape.
            img = composite(img, occ, background(rng, size, size, clutter=clutter))
            visible = candidate

    n_over = int(rng.integers(0, 2))
    if n_over:
        cover, colours = stroke_layer(rng, size, size, n_over, width=(1, 2))
        img = composite(img, cover * clutter, colours)

    img = img + rng.normal(0, rng.uniform(0, 0.04) * clutter, img.shape).astype(np.float32)
    mask = visible > 0.5
    return ShapeSample(image=to_uint8(img), label=label, mask=mask, box=mask_box(mask))


def make_batch(
    seed: int, n: int, size: int = DEFAULT_SIZE, start: int = 0, clutter: float | Sequence[float] = 1.0
) -> ShapeBatch:
    """Samples ``start .. start+n-1`` of stream ``seed`` (``clutter`` one value, or one per sample)."""
    levels = [float(clutter)] * n if isinstance(clutter, int | float) else [float(c) for c in clutter]
    samples = [make_sample(sample_rng(seed, start + i), size, clutter=c) for i, c in enumerate(levels)]
    return ShapeBatch(
        images=np.stack([s.image for s in samples]),
        labels=np.array([s.label for s in samples], dtype=np.int64),
        masks=np.stack([s.mask for s in samples]),
        boxes=np.array([s.box for s in samples], dtype=np.int64),
    )
