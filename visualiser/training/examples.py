"""Regenerate ``assets/examples/``: generated images and clips per class, plus real photos and a clip made from one.

Generated files come from the same generators the embedded models were trained on, at full
clutter. Real photos are copied from a folder the caller names (resized to at most 512 px, JPEG);
``CREDITS.md`` in the examples folder records where each came from and under which licence.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from visualiser.data import motion, shapes
from visualiser.data.folders import motion_clip

EXAMPLE_SEED = 31_337
MAX_PHOTO_SIDE = 512


def write_mp4(path: Path, frames: np.ndarray, fps: float, crf: int = 18) -> Path:
    """H.264 (libx264, yuv420p) MP4 of (T, H, W, 3) uint8 frames with even H and W."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": "slow"}
        for pixels in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")))
        container.mux(stream.encode(None))
    return path


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
        paths.append(write_mp4(folder / f"{name}.mp4", big, fps=8.0, crf=10))
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


def camera_move_clip(
    photo: np.ndarray,
    frames: int = 24,
    out_size: tuple[int, int] = (320, 240),
    start: tuple[float, float, float] = (0.35, 0.5, 1.0),
    end: tuple[float, float, float] = (0.65, 0.5, 0.7),
) -> np.ndarray:
    """A slow pan and zoom across a still photo: (T, H, W, 3) uint8.

    ``start`` / ``end`` are (centre x, centre y, zoom) with the centre as a share of the photo and
    zoom the crop's share of the largest crop of the output aspect that fits the photo.
    """
    h, w = photo.shape[:2]
    ow, oh = out_size
    base_w = min(w, h * ow / oh)
    image = Image.fromarray(photo)
    out = []
    for t in np.linspace(0, 1, frames):
        ease = 0.5 - 0.5 * np.cos(np.pi * t)  # slow in, slow out
        cx, cy, zoom = (a + (b - a) * ease for a, b in zip(start, end, strict=True))
        cw = base_w * zoom
        ch = cw * oh / ow
        left = min(max(cx * w - cw / 2, 0), w - cw)
        top = min(max(cy * h - ch / 2, 0), h - ch)
        box = (left, top, left + cw, top + ch)
        out.append(np.asarray(image.resize(out_size, Image.Resampling.BICUBIC, box=box)))
    return np.stack(out)


def write_photo_clip(out_dir: Path, photo_path: Path, name: str, **kwargs: object) -> Path:
    """``clips/<name>.mp4``: a camera move over a real photo (H.264, 12 fps)."""
    folder = out_dir / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(photo_path) as im:
        photo = np.asarray(im.convert("RGB"))
    return write_mp4(folder / f"{name}.mp4", camera_move_clip(photo, **kwargs), fps=12.0, crf=24)  # type: ignore[arg-type]
