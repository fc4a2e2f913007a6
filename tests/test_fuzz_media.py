"""Fuzzing the decoders: random and mutated bytes must give a valid array/Clip or an InputError, nothing else.

Seeds are small valid PNG, JPEG, GIF, WebP, BMP, TIFF, MP4, WebM, Matroska and AVI files; hypothesis flips and
overwrites bytes, truncates, and splices in runs of junk. Any other exception (a Pillow ``SyntaxError``, a PyAV
error, ``struct.error``...) escaping ``load_image`` / ``load_clip`` fails the test, as does one input taking more
than ``PER_EXAMPLE_SECONDS``.

The default run is short and derandomised (the same inputs every time, so CI is stable). For a longer, random run::

    VISUALISER_FUZZ_EXAMPLES=2000 .venv/bin/pytest tests/test_fuzz_media.py
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.support import hostile
from tests.support.clips import write_test_clip
from visualiser.errors import InputError
from visualiser.media import Clip, MediaLimits, load_clip, load_image

_FROM_ENV = os.environ.get("VISUALISER_FUZZ_EXAMPLES")
EXAMPLES = int(_FROM_ENV) if _FROM_ENV else 30
PER_EXAMPLE_SECONDS = 10.0
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # timing is asserted by hand, with a bound that tolerates a loaded machine
    derandomize=_FROM_ENV is None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMITS = MediaLimits(decode_timeout_s=5.0)


def _image_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    seeds = {}
    for fmt, options in [
        ("PNG", {}),
        ("JPEG", {"quality": 80}),
        ("GIF", {}),
        ("WEBP", {"quality": 80}),
        ("BMP", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ]:
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        seeds[fmt] = buffer.getvalue()
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    seeds["JPEG+EXIF"] = buffer.getvalue()
    return seeds


def _clip_seeds() -> dict[str, bytes]:
    frames = hostile.pattern_frames(6, 32)
    seeds = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, codec in [("clip.mp4", "libx264"), ("clip.webm", "libvpx-vp9"), ("clip.mkv", "mpeg4")]:
            write_test_clip(Path(directory) / name, frames, codec=codec)
        write_test_clip(Path(directory) / "clip.avi", frames, codec="mjpeg")
        for path in Path(directory).iterdir():
            seeds[path.name] = path.read_bytes()
    return seeds


IMAGE_SEEDS = _image_seeds()
CLIP_SEEDS = _clip_seeds()


@st.composite
def mutated(draw: st.DrawFn, seeds: dict[str, bytes]) -> bytes:
    """A seed with a few bytes overwritten, optionally truncated, optionally with a run of junk spliced in."""
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(min_size=1, max_size=64))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def check_image(data: bytes) -> None:
    started = time.perf_counter()
    try:
        rgb = load_image(data, LIMITS)
    except InputError as error:
        assert str(error), "an InputError must say what is wrong"
    else:
        assert rgb.dtype == np.uint8
        assert rgb.ndim == 3
        assert rgb.shape[2] == 3
        assert rgb.flags.c_contiguous
    assert time.perf_counter() - started < PER_EXAMPLE_SECONDS


def check_clip(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"upload{suffix}"
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            clip = load_clip(path, num_frames=4, max_side=64, limits=LIMITS)
        except InputError as error:
            assert str(error), "an InputError must say what is wrong"
        else:
            assert isinstance(clip, Clip)
            assert 1 <= clip.frames.shape[0] <= 4
            assert clip.frames.dtype == np.uint8
            assert clip.frames.shape[3] == 3
            assert max(clip.frames.shape[1:3]) <= 64
            assert (np.diff(clip.timestamps) > 0).all()
        assert time.perf_counter() - started < PER_EXAMPLE_SECONDS


@FUZZ_SETTINGS
@given(data=mutated(IMAGE_SEEDS))
def test_mutated_images(data):
    check_image(data)


@FUZZ_SETTINGS
@given(data=st.binary(max_size=2048))
def test_random_bytes_as_image(data):
    check_image(data)


@FUZZ_SETTINGS
@given(data=mutated(CLIP_SEEDS), suffix=st.sampled_from([".mp4", ".webm", ".avi", ".bin"]))
def test_mutated_clips(data, suffix):
    check_clip(data, suffix)


@FUZZ_SETTINGS
@given(data=mutated(IMAGE_SEEDS))
def test_mutated_images_given_as_clips(data):
    check_clip(data, ".png")


@pytest.mark.parametrize("name", sorted(hostile.IMAGE_BUILDERS))
def test_every_hostile_image_as_bytes(tmp_path, name):
    check_image(hostile.IMAGE_BUILDERS[name](tmp_path).read_bytes())
