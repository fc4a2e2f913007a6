"""Moving shapes: 16-frame clips whose class is how the object moves, not what it is.

One shape (any of the image dataset's eight) moves left, right, up or down, turns clockwise
or anticlockwise, grows or shrinks, over a textured background that may itself pan slowly,
with distractor strokes. The shape's identity carries no information about the class, and a
single frame cannot tell the classes apart: the network has to compare frames, which is the
point of a 3-D convolution. Every frame keeps the object's mask and box.

Deterministic: clip ``i`` of stream ``seed`` depends only on ``(seed, i)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tools.data.geometry import SHAPES, mask_box, shape_alpha
from tools.data.shapes import sample_rng
from tools.data.textures import background, composite, contrasting_colour, stroke_layer, to_uint8

GENERATOR_VERSION = "motion-1"
CLASSES: tuple[str, ...] = ("left", "right", "up", "down", "rotate_cw", "rotate_ccw", "grow", "shrink")
DEFAULT_FRAMES = 16
DEFAULT_SIZE = 64
MAX_PAN = 0.6  # background pan, px / frame at 64 px: well below the slowest object (1.1 px / frame)
ROTATING_SHAPES = tuple(s for s in SHAPES if s not in ("circle", "ring"))  # a turning circle looks still


@dataclass(frozen=True)
class MotionSample:
    """One generated clip with per-frame ground truth."""

    frames: np.ndarray  # (T, H, W, 3) uint8
    label: int
    masks: np.ndarray  # (T, H, W) bool: object pixels per frame
    boxes: np.ndarray  # (T, 4) int64: (x0, y0, x1, y1) per frame, x1/y1 exclusive


@dataclass(frozen=True)
class MotionBatch:
    """Stacked clips."""

    clips: np.ndarray  # (N, T, H, W, 3) uint8
    labels: np.ndarray  # (N,) int64
    masks: np.ndarray  # (N, T, H, W) bool
    boxes: np.ndarray  # (N, T, 4) int64


def _trajectory(
    rng: np.random.Generator, motion: str, frames: int, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame centre x, centre y, radius and angle for one motion class."""
    scale = size / 64
    t = np.arange(frames, dtype=np.float64)
    angle0 = rng.uniform(0, 2 * math.pi)
    if motion in ("grow", "shrink"):
        ratio = rng.uniform(1.8, 2.5)
        small = rng.uniform(0.085, 0.11) * size
        r = small * ratio ** (t / (frames - 1))
        if motion == "shrink":
            r = r[::-1].copy()
        big = float(r.max())
        cx = np.full(frames, rng.uniform(big, size - big))
        cy = np.full(frames, rng.uniform(big, size - big))
        return cx, cy, r, np.full(frames, angle0)
    radius = rng.uniform(0.12, 0.19) * size
    r = np.full(frames, radius)
    if motion.startswith("rotate"):
        step = math.radians(rng.uniform(8, 16)) * (1 if motion == "rotate_cw" else -1)
        cx = np.full(frames, rng.uniform(radius, size - radius))
        cy = np.full(frames, rng.uniform(radius, size - radius))
        return cx, cy, r, angle0 + step * t
    speed = rng.uniform(1.1, 2.0) * scale
    travel = speed * (frames - 1)
    direction = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[motion]
    drift = rng.uniform(-0.25, 0.25) * scale  # a little sideways wander, so paths are not axis-perfect
    start = []
    for d in direction:
        lo, hi = radius, size - radius
        if d != 0:
            lo, hi = (lo + travel, hi) if d < 0 else (lo, hi - travel)
        start.append(rng.uniform(lo, max(lo, hi)))
    dx = direction[0] * speed + (drift if direction[0] == 0 else 0.0)
    dy = direction[1] * speed + (drift if direction[1] == 0 else 0.0)
    cx = np.clip(start[0] + dx * t, radius, size - radius)
    cy = np.clip(start[1] + dy * t, radius, size - radius)
    return cx, cy, r, np.full(frames, angle0)


def make_clip(
    rng: np.random.Generator,
    frames: int = DEFAULT_FRAMES,
    size: int = DEFAULT_SIZE,
    label: int | None = None,
    clutter: float = 1.0,
) -> MotionSample:
    """Draw one clip; ``label`` is random unless given.

    ``clutter`` in [0, 1] scales the background's contrast and pan, the strokes and the noise, and
    below 1 makes some clips easy (dark background, light object), as in ``shapes.make_sample``.
    """
    if label is None:
        label = int(rng.integers(len(CLASSES)))
    motion = CLASSES[label]
    pool = ROTATING_SHAPES if motion.startswith("rotate") else SHAPES
    kind = pool[int(rng.integers(len(pool)))]

    easy = rng.random() >= clutter
    pan = rng.uniform(-MAX_PAN, MAX_PAN, 2) * (size / 64) * clutter if rng.random() < 0.5 else np.zeros(2)
    pad = math.ceil(abs(pan).max() * frames) + 1
    big = size + 2 * pad
    scene = background(rng, big, big, clutter=clutter)
    cover, colours = stroke_layer(rng, big, big, int(rng.integers(1, 5)), width=(1, 2))
    scene = composite(scene, cover * rng.uniform(0.5, 1.0) * clutter, colours)
    if easy:
        scene = scene * 0.45

    cx, cy, r, angle = _trajectory(rng, motion, frames, size)
    style = "filled" if kind == "circle" or rng.random() < 0.65 else "outline"
    stroke, ring_inner = rng.uniform(0.2, 0.3), rng.uniform(0.5, 0.6)
    colour = contrasting_colour(rng, scene.reshape(-1, 3).mean(0), 0.45)
    if easy:
        colour = 0.5 + 0.5 * colour
    n_over = int(rng.integers(0, 2))
    over = stroke_layer(rng, size, size, n_over, width=(1, 1)) if n_over else None
    noise = rng.uniform(0, 0.03) * clutter

    out = np.empty((frames, size, size, 3), dtype=np.uint8)
    masks = np.empty((frames, size, size), dtype=bool)
    for f in range(frames):
        ox, oy = pad + pan[0] * (f - frames / 2), pad + pan[1] * (f - frames / 2)
        x0, y0 = round(ox), round(oy)
        img = scene[y0 : y0 + size, x0 : x0 + size]
        alpha = shape_alpha(kind, size, cx[f], cy[f], r[f], angle[f], style, stroke, ring_inner)
        img = composite(img, alpha, colour)
        if over is not None:
            img = composite(img, over[0] * clutter, over[1])
        img = img * rng.uniform(0.97, 1.03) + rng.normal(0, noise, img.shape).astype(np.float32)
        out[f] = to_uint8(img)
        masks[f] = alpha > 0.5
    boxes = np.array([mask_box(m) for m in masks], dtype=np.int64)
    return MotionSample(frames=out, label=label, masks=masks, boxes=boxes)


def make_batch(
    seed: int,
    n: int,
    frames: int = DEFAULT_FRAMES,
    size: int = DEFAULT_SIZE,
    start: int = 0,
    clutter: float | Sequence[float] = 1.0,
) -> MotionBatch:
    """Clips ``start .. start+n-1`` of stream ``seed`` (``clutter`` one value, or one per clip)."""
    levels = [float(clutter)] * n if isinstance(clutter, int | float) else [float(c) for c in clutter]
    samples = [make_clip(sample_rng(seed, start + i), frames, size, clutter=c) for i, c in enumerate(levels)]
    return MotionBatch(
        clips=np.stack([s.frames for s in samples]),
        labels=np.array([s.label for s in samples], dtype=np.int64),
        masks=np.stack([s.masks for s in samples]),
        boxes=np.stack([s.boxes for s in samples]),
    )
