"""load_image on the hostile corpus: every file decodes to the colours that were drawn, or fails with a reason."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support import hostile
from tests.support.clips import write_test_clip
from visualiser.errors import InputError
from visualiser.media import MediaLimits, load_image


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("images")
    return {name: build(directory) for name, build in hostile.IMAGE_BUILDERS.items()}


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("zero_byte", ["empty"]),
        ("truncated_jpeg", ["truncated"]),
        ("truncated_png", ["truncated"]),
        ("text_as_jpeg", ["text file"]),
        ("html_page", ["HTML page"]),
        ("random_bytes", ["unsupported format"]),
        ("svg", ["SVG is not supported", "PNG"]),
        ("bomb", ["900 MP", "decompression bomb", "limit is 40 MP"]),
        ("over_limit", ["8000×6000 = 48 MP", "limit is 40 MP"]),
        ("long_side", ["20001×600", "20000 pixels"]),
        ("extreme_aspect", ["10000×10", "1000:1", "50:1"]),
    ],
)
def test_hostile_image_is_refused_with_its_reason(corpus, name, fragments):
    with pytest.raises(InputError) as caught:
        load_image(corpus[name])
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("name", ["truncated_jpeg", "truncated_png", "random_bytes", "svg", "bomb"])
def test_bytes_source_fails_the_same_way_as_the_path(corpus, name):
    with pytest.raises(InputError):
        load_image(corpus[name].read_bytes())


def test_bomb_is_refused_without_allocating_its_pixels(corpus):
    # Peak RSS is per process and only grows, so measure in a fresh interpreter, after its imports and again after
    # the attempt: decoding the bomb would need 900 MB (one byte per pixel), tracemalloc sees numpy's buffers.
    script = textwrap.dedent(
        f"""
        import resource, tracemalloc
        from visualiser.errors import InputError
        from visualiser.media import load_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        try:
            load_image({str(corpus["bomb"])!r})
        except InputError:
            pass
        else:
            raise SystemExit("bomb was decoded")
        traced_peak = tracemalloc.get_traced_memory()[1]
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, traced_peak)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    rss_growth_kib, traced_peak_bytes = map(int, done.stdout.split())  # ru_maxrss is in KiB on Linux
    assert rss_growth_kib < 32 * 1024, f"peak RSS grew by {rss_growth_kib / 1024:.0f} MiB"
    assert traced_peak_bytes < 8 * 1024 * 1024, f"traced peak {traced_peak_bytes / 2**20:.1f} MiB"


def test_pillow_guard_still_refuses_when_our_limit_is_raised(corpus):
    with pytest.raises(InputError, match="decompression bomb"):
        load_image(corpus["bomb"], MediaLimits(max_image_pixels=2_000_000_000, max_image_side=50_000))


def test_lowered_limits_apply(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (20, 10), (1, 2, 3)).save(path)
    assert load_image(path, MediaLimits(max_image_pixels=200)).shape == (10, 20, 3)
    with pytest.raises(InputError, match=r"20×10 = 0\.0002 MP; the limit is 0\.0001 MP"):
        load_image(path, MediaLimits(max_image_pixels=100))
    with pytest.raises(InputError, match="the limit is 0 MB"):
        load_image(path, MediaLimits(max_file_bytes=10))


def test_fifty_to_one_is_the_widest_accepted_strip(corpus):
    strip = load_image(corpus["limit_aspect"])
    assert strip.shape == (10, 500, 3)
    assert (strip == (0, 128, 0)).all()


def test_one_pixel_image(corpus):
    pixel = load_image(corpus["one_pixel"])
    assert pixel.shape == (1, 1, 3)
    assert pixel.dtype == np.uint8
    assert pixel[0, 0].tolist() == [12, 34, 56]


def test_cmyk_jpeg_converts_to_the_expected_rgb(corpus):
    cyan, magenta, yellow, black = (value / 255 for value in hostile.CMYK_VALUE)
    expected = 255 * (1 - np.array([cyan, magenta, yellow])) * (1 - black)  # textbook CMYK -> RGB
    rgb = load_image(corpus["cmyk"])
    assert rgb.shape == (24, 32, 3)
    np.testing.assert_allclose(rgb.reshape(-1, 3).mean(axis=0), expected, atol=4)


def test_sixteen_bit_gradient_is_scaled_not_clipped(corpus):
    rgb = load_image(corpus["gradient16"])
    row = rgb[0, :, 0].astype(int)
    assert (rgb == rgb[:, :, :1]).all(), "grey stays grey"
    assert (np.diff(row) >= 0).all(), "monotonic"
    assert row[0] == 0
    assert row[-1] == 255
    assert len(np.unique(row)) > 250, "a clipping conversion would collapse most of the ramp to 255"
    ramp = np.linspace(0, 65535, 256)
    np.testing.assert_allclose(row, ramp * 255 / 65535, atol=1)


def test_palette_transparency_becomes_white(corpus):
    rgb = load_image(corpus["palette_transparent"])
    assert (rgb[:, :10] == 255).all()
    assert (rgb[:, 10:] == hostile.PALETTE_OPAQUE).all()


@pytest.mark.parametrize("name", ["la", "rgba"])
def test_alpha_is_composited_over_white(corpus, name):
    rgb = load_image(corpus[name]).astype(float)
    if name == "la":
        expected = [grey * alpha / 255 + 255 * (1 - alpha / 255) for grey, alpha in hostile.LA_LEVELS]
        bands = [rgb[:, 4 * band : 4 * band + 4] for band in range(3)]
        for band, value in zip(bands, expected, strict=True):
            np.testing.assert_allclose(band, value, atol=1)
    else:
        *colour, alpha = hostile.RGBA_PIXEL
        expected = np.array(colour) * alpha / 255 + 255 * (1 - alpha / 255)
        np.testing.assert_allclose(rgb.reshape(-1, 3), np.broadcast_to(expected, (24, 3)), atol=1)


def test_exif_orientation_six_rotates_clockwise(corpus):
    rgb = load_image(corpus["exif_rotated"])
    assert rgb.shape == (40, 20, 3), "stored 40×20 landscape, displayed 20×40 portrait"
    with Image.open(corpus["exif_rotated"]) as raw:
        stored = np.asarray(raw.convert("RGB"))  # Pillow leaves EXIF alone unless asked
    np.testing.assert_array_equal(rgb, np.rot90(stored, k=-1))
    np.testing.assert_allclose(rgb[5:15, 5:15].reshape(-1, 3).mean(axis=0), hostile.EXIF_LEFT, atol=8)
    np.testing.assert_allclose(rgb[25:35, 5:15].reshape(-1, 3).mean(axis=0), hostile.EXIF_RIGHT, atol=8)


@pytest.mark.parametrize("name", ["animated_gif", "animated_webp", "animated_png"])
def test_animation_gives_its_first_frame(corpus, name):
    rgb = load_image(corpus[name])
    assert rgb.shape == (12, 16, 3)
    assert (rgb == hostile.ANIMATION_COLOURS[0]).all()


def test_bytes_and_path_decode_identically(corpus):
    np.testing.assert_array_equal(load_image(corpus["cmyk"].read_bytes()), load_image(corpus["cmyk"]))


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.fromarray(np.array([[0, 255]], dtype=np.uint8)).convert("1"), [[0, 0, 0], [255, 255, 255]]),
        (Image.fromarray(np.array([[7, 200]], dtype=np.uint8), mode="L"), [[7, 7, 7], [200, 200, 200]]),
        (Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)), [[0] * 3, [128] * 3, [255] * 3]),
        (Image.fromarray(np.array([[-10.0, 0.0, 10.0]], dtype=np.float32)), [[0] * 3, [128] * 3, [255] * 3]),
        (Image.fromarray(np.array([[-70000, 0, 70000]], dtype=np.int32)), [[0] * 3, [128] * 3, [255] * 3]),
        (Image.new("RGBA", (1, 1), (255, 0, 0, 0)), [[255, 255, 255]]),
    ],
    ids=["mode-1", "mode-L", "float-unit", "float-wide", "int32-wide", "rgba-clear"],
)
def test_pil_images_of_every_mode(image, expected):
    rgb = load_image(image)
    assert rgb.dtype == np.uint8
    assert rgb.flags.c_contiguous
    np.testing.assert_array_equal(rgb.reshape(-1, 3), expected)


def test_array_inputs():
    grey = np.array([[0, 100], [200, 255]], dtype=np.uint8)
    expected = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(load_image(grey), expected)
    np.testing.assert_array_equal(load_image(grey[:, :, None]), expected)
    np.testing.assert_array_equal(load_image(grey / 255.0), expected)
    rgba = np.zeros((1, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    rgba[0, 1] = (10, 20, 30, 0)
    np.testing.assert_array_equal(load_image(rgba), [[[10, 20, 30], [255, 255, 255]]])


def test_array_result_is_a_copy():
    source = np.zeros((4, 4, 3), dtype=np.uint8)
    result = load_image(source)
    result[:] = 9
    assert (source == 0).all()


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.zeros((4, 4, 2), dtype=np.uint8), "must be (H, W)"),
        (np.zeros((2, 4, 4, 3), dtype=np.uint8), "must be (H, W)"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "no pixels"),
        (np.zeros((4, 4, 3), dtype=np.int64), "uint8 or float"),
        (np.full((4, 4), 1.5), "[0, 1]"),
        (np.full((4, 4), np.nan), "NaN"),
    ],
)
def test_bad_arrays_are_refused(array, fragment):
    with pytest.raises(InputError) as caught:
        load_image(array)
    assert fragment in str(caught.value)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(InputError, match=r"no such file: nope\.png"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is not a file"):
        load_image(tmp_path)


def test_unsupported_pillow_format_is_refused(tmp_path):
    # Pillow reads ICO, but it is not on our list of photo formats.
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "ICO")
    with pytest.raises(InputError, match="not an image Pillow can read"):
        load_image(buffer.getvalue())


def test_limits_from_environment(monkeypatch):
    monkeypatch.setenv("VISUALISER_MAX_FILE_MB", "2")
    monkeypatch.setenv("VISUALISER_MAX_IMAGE_PIXELS", "1000")
    monkeypatch.setenv("VISUALISER_MAX_CLIP_SECONDS", "30")
    monkeypatch.setenv("VISUALISER_MAX_FRAMES", "8")
    limits = MediaLimits.from_env()
    assert (limits.max_file_bytes, limits.max_image_pixels) == (2 * 1024 * 1024, 1000)
    assert (limits.max_clip_seconds, limits.max_frames) == (30.0, 8)
    assert limits.max_image_side == MediaLimits().max_image_side
    monkeypatch.setenv("VISUALISER_MAX_FRAMES", "-3")
    with pytest.raises(ValueError, match="VISUALISER_MAX_FRAMES"):
        MediaLimits.from_env()
    monkeypatch.setenv("VISUALISER_MAX_FRAMES", "many")
    with pytest.raises(ValueError, match="not a number"):
        MediaLimits.from_env()


def test_a_video_given_as_an_image_says_so(tmp_path):
    path = tmp_path / "clip.mp4"
    write_test_clip(path, np.zeros((2, 16, 16, 3), dtype=np.uint8))
    with pytest.raises(InputError, match=r"it is a video \(MP4/MOV\); use the clip input"):
        load_image(path)
    heic_header = b"\x00\x00\x00\x18ftypheic" + bytes(64)
    with pytest.raises(InputError, match="HEIC/HEIF is not supported"):
        load_image(heic_header)
