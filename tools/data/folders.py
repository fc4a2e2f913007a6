"""Write generated samples to disk as labelled folders and example files.

``folder/<class name>/<index>.png`` (with ``<index>.mask.png`` beside it, on request) is the layout
``python -m visualiser stats MODEL FOLDER`` reads, so a generated folder is a ready-made test input for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tools.data import motion, shapes


def write_image_folder(
    directory: str | Path,
    per_class: int,
    seed: int,
    size: int = shapes.DEFAULT_SIZE,
    classes: Sequence[str] | None = None,
    masks: bool = False,
) -> list[Path]:
    """Write ``per_class`` generated PNGs for each shape class (all, or those named); returns the image paths.

    ``masks``: also write each image's visible-object mask beside it as ``<index>.mask.png`` (255 = object), the
    layout the dataset job's pointing game reads.
    """
    root = Path(directory)
    names = list(classes) if classes is not None else list(shapes.CLASSES)
    unknown = [c for c in names if c not in shapes.CLASSES]
    if unknown:
        raise ValueError(f"unknown shape classes {unknown}; expected some of {shapes.CLASSES}")
    paths = []
    for name in names:
        label = shapes.CLASSES.index(name)
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            rng = shapes.sample_rng(seed, label * 100_003 + i)
            sample = shapes.make_sample(rng, size, label=label)
            path = root / name / f"{i:03d}.png"
            Image.fromarray(sample.image).save(path)
            if masks:
                Image.fromarray(sample.mask.astype(np.uint8) * 255).save(path.with_name(f"{i:03d}.mask.png"))
            paths.append(path)
    return paths


def motion_clip(seed: int, label: int, index: int = 0, size: int = motion.DEFAULT_SIZE) -> np.ndarray:
    """One full-difficulty clip of motion class ``label``, (T, H, W, 3) uint8."""
    rng = shapes.sample_rng(seed, label * 100_003 + index)
    return motion.make_clip(rng, size=size, label=label).frames
