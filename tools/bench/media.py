"""Clip and 3D-convolution figures: frames per second of what ``/analyse_clip`` and ``/conv3d_animation`` do."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tools.bench.subjects import loaded_model
from tools.bench.timing import median_time

if TYPE_CHECKING:
    from visualiser.media import Clip
    from visualiser.pipeline import LoadedModel

CLIP_SIZE = (480, 360)
CLIP_FPS = 8.0


def bench_clip(names: Sequence[str], frames: int, repeats: int = 1) -> dict[str, float]:
    """Clip analysis with overlays (what ``/analyse_clip`` does after decoding), in frames per second, per model."""
    from visualiser.media import Clip

    width, height = CLIP_SIZE
    rng = np.random.default_rng(0)
    video = rng.integers(0, 255, (frames, height, width, 3), dtype=np.uint8)
    clip = Clip(video, np.arange(frames) / CLIP_FPS, CLIP_FPS, frames / CLIP_FPS, CLIP_SIZE)
    out = {}
    for name in names:
        loaded = loaded_model(name)
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "attention.mp4"
            seconds = median_time(partial(_analyse_and_encode, clip, loaded, target), repeats, warmup=1)
        out[name] = frames / seconds
    return out


def _analyse_and_encode(clip: Clip, loaded: LoadedModel, target: Path) -> None:
    from visualiser.pipeline import analyse_decoded_clip
    from visualiser.render.clips import attention_video

    attention_video(analyse_decoded_clip(clip, loaded), target)


def bench_conv3d(quick: bool) -> dict[str, float]:
    """Frames per second of the 3D-convolution animation (with H.264 encoding) and the matplotlib reference."""
    from tools.conv3d_bench import measure

    return measure(quick=quick)
