"""Regenerate ``assets/examples/``: generated images and clips per class, plus real photos and a clip made from one.

Generated files come from the same generators the embedded models were trained on, at full
clutter. Real photos are copied from a folder the caller names (resized to at most 512 px, JPEG);
``CREDITS.md`` in the examples folder records where each came from and under which licence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from tools.data import motion, shapes
from tools.data.folders import motion_clip
from visualiser.media.encode import write_video

EXAMPLE_SEED = 31_337
MAX_PHOTO_SIDE = 512


def write_shape_examples(out_dir: Path, per_class: int = 2, seed: int = EXAMPLE_SEED, size: int = 96) -> list[Path]:
    """``shapes/<class>_<i>.png`` at the embedded models' input size."""
    folder = out_dir / "shapes"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, name in enumerate(shapes.CLASSES):
        for i in range(per_class):
            sample = shapes.make_sample(shapes.sample_rng(seed, label * 100_003 + i), size, label=label)
            path = folder / f"{name}_{i}.png"
            Image.fromarray(sample.image).save(path, optimize=True)
            paths.append(path)
    return paths


def write_motion_examples(out_dir: Path, seed: int = EXAMPLE_SEED, upscale: int = 2) -> list[Path]:
    """``motion/<class>.mp4`` (H.264, 8 fps), each pixel repeated ``upscale`` times so 4:2:0 chroma keeps detail."""
    folder = out_dir / "motion"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, name in enumerate(motion.CLASSES):
        frames = motion_clip(seed, label)
        big = frames.repeat(upscale, axis=1).repeat(upscale, axis=2)  # (T, H·k, W·k, 3)
        paths.append(write_video(folder / f"{name}.mp4", big, fps=8.0, crf=10))
    return paths


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def write_photos(out_dir: Path, sources: Sequence[Path]) -> list[Path]:
    """``photos/<stem>.jpg``: each source as RGB, long side at most 512 px."""
    folder = out_dir / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for src in sources:
        with Image.open(src) as im:
            rgb = _fit(im.convert("RGB"), MAX_PHOTO_SIDE)
        path = folder / f"{src.stem}.jpg"
        rgb.save(path, quality=90, optimize=True)
        paths.append(path)
    return paths
