"""A corpus of hostile and awkward media files, built deterministically into a directory.

Every builder takes a directory, writes one small file and returns its path; ``build_all(directory)`` builds the
whole set (about two seconds, well under a megabyte on disk). What was drawn is kept here as constants and helpers
(``ANIMATION_COLOURS``, ``index_pattern`` / ``read_index``) so tests compare decoded pixels with what was put in, not
with an earlier run of the decoder. App and CLI tests reuse these files.

Clip frames carry their own frame number as a 4×4 grid of black and white cells (16 bits), which survives lossy
codecs, chroma subsampling, downscaling and rotation, so a test can tell exactly which source frame it got.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.support.clips import write_test_clip

ANIMATION_COLOURS: tuple[tuple[int, int, int], ...] = ((220, 30, 30), (30, 200, 40), (40, 60, 230))
CMYK_VALUE: tuple[int, int, int, int] = (0, 128, 255, 64)
EXIF_LEFT, EXIF_RIGHT = (230, 20, 20), (20, 20, 230)
PALETTE_OPAQUE = (10, 120, 200)
LA_LEVELS = ((90, 255), (90, 0), (90, 128))  # (grey, alpha) per column band
RGBA_PIXEL = (200, 40, 0, 64)
CLIP_FPS = 8.0
LONG_CLIP_SECONDS = 600
VFR_TIMES: tuple[float, ...] = (0.0, 0.1, 0.15, 0.9, 1.0, 1.05, 2.5, 2.6, 3.9, 4.0)
GRID = 4


def index_pattern(index: int, side: int) -> np.ndarray:
    """A (side, side, 3) uint8 frame whose 4×4 cells spell ``index`` in binary, bit 0 top-left, row-major."""
    cell = side // GRID
    bits = np.array([(index >> bit) & 1 for bit in range(GRID * GRID)], dtype=np.uint8).reshape(GRID, GRID)
    grey = np.kron(bits * 255, np.ones((cell, cell), dtype=np.uint8))  # (side, side)
    return np.repeat(grey[:, :, None], 3, axis=2)


def read_index(frame: np.ndarray) -> int:
    """Recover the number ``index_pattern`` drew, from the mean of the middle of each cell."""
    height, width = frame.shape[:2]
    value = 0
    for bit in range(GRID * GRID):
        row, col = divmod(bit, GRID)
        top, left = row * height // GRID, col * width // GRID
        bottom, right = (row + 1) * height // GRID, (col + 1) * width // GRID
        margin_y, margin_x = max((bottom - top) // 4, 0), max((right - left) // 4, 0)
        centre = frame[top + margin_y : bottom - margin_y, left + margin_x : right - margin_x]
        if centre.mean() > 127:
            value |= 1 << bit
    return value


def pattern_frames(count: int, side: int) -> np.ndarray:
    """(count, side, side, 3) frames numbered 0..count-1."""
    return np.stack([index_pattern(index, side) for index in range(count)])


# ---- images -------------------------------------------------------------------------------------------------------


def zero_byte(directory: Path) -> Path:
    return _write(directory / "zero.png", b"")


def truncated_jpeg(directory: Path) -> Path:
    data = _encoded(Image.fromarray(_noise(64, 48)), "JPEG", quality=90)
    return _write(directory / "truncated.jpg", data[: len(data) // 2])


def truncated_png(directory: Path) -> Path:
    data = _encoded(Image.fromarray(_noise(64, 48)), "PNG")
    return _write(directory / "truncated.png", data[: len(data) // 2])


def text_as_jpeg(directory: Path) -> Path:
    return _write(directory / "notes.jpg", b"Shopping list:\n- eggs\n- milk\n- a real photo of a cat\n" * 3)


def html_page(directory: Path) -> Path:
    return _write(directory / "page.png", b"<!DOCTYPE html>\n<html><head><title>cat</title></head><body></body></html>")


def random_bytes(directory: Path) -> Path:
    return _write(directory / "random.jpg", np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def svg_image(directory: Path) -> Path:
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    return _write(directory / "icon.svg", svg)


def png_bomb(directory: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A one-colour 1-bit PNG of width×height (900 MP by default) in about 110 KB, built row by row with zlib so
    nothing near its decoded size is ever allocated."""
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then all-black 1-bit samples
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(row) for _ in range(height)]
    chunks.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", b"".join(chunks))
    return _write(directory / f"bomb_{width}x{height}.png", png + _png_chunk(b"IEND", b""))


def over_limit_png(directory: Path) -> Path:
    """8000×6000 = 48 MP: over our 40 MP limit but under Pillow's own guard, so our header check must catch it."""
    return png_bomb(directory, 8000, 6000)


def long_side_png(directory: Path) -> Path:
    """20001×600: few pixels (12 MP) but a side over the 20000 limit."""
    return png_bomb(directory, 20_001, 600)


def extreme_aspect_png(directory: Path) -> Path:
    return _save(Image.new("RGB", (10_000, 10), (0, 128, 0)), directory / "strip_10000x10.png")


def limit_aspect_png(directory: Path) -> Path:
    """500×10 is exactly 50:1, the largest aspect ratio accepted."""
    return _save(Image.new("RGB", (500, 10), (0, 128, 0)), directory / "strip_500x10.png")


def one_pixel_png(directory: Path) -> Path:
    return _save(Image.new("RGB", (1, 1), (12, 34, 56)), directory / "pixel.png")


def cmyk_jpeg(directory: Path) -> Path:
    return _save(Image.new("CMYK", (32, 24), CMYK_VALUE), directory / "cmyk.jpg", quality=95)


def gradient_png16(directory: Path) -> Path:
    """16-bit greyscale: 256 columns from 0 to 65535, so a clipping converter would turn most of it white."""
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)
    return _save(Image.fromarray(np.tile(ramp, (16, 1))), directory / "gradient16.png")


def palette_transparent_png(directory: Path) -> Path:
    """Palette image: left half index 0 (transparent), right half index 1 (``PALETTE_OPAQUE``)."""
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, *PALETTE_OPAQUE] + [0, 0, 0] * 254)
    image.paste(1, (10, 0, 20, 10))
    return _save(image, directory / "palette_transparent.png", transparency=0)


def la_png(directory: Path) -> Path:
    """Grey + alpha, three 4-pixel bands with the (grey, alpha) pairs in ``LA_LEVELS``."""
    bands = [np.full((4, 4, 2), level, dtype=np.uint8) for level in LA_LEVELS]
    return _save(Image.fromarray(np.concatenate(bands, axis=1), mode="LA"), directory / "grey_alpha.png")


def rgba_png(directory: Path) -> Path:
    return _save(Image.new("RGBA", (6, 4), RGBA_PIXEL), directory / "rgba.png")


def exif_rotated_jpeg(directory: Path) -> Path:
    """Stored 40×20 (left half ``EXIF_LEFT``, right half ``EXIF_RIGHT``) with orientation 6: display rotates it 90°
    clockwise, to 20×40 with the left colour on top."""
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20], pixels[:, 20:] = EXIF_LEFT, EXIF_RIGHT
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(Image.fromarray(pixels), directory / "exif_rotated.jpg", exif=exif, quality=95)


def animated_gif(directory: Path) -> Path:
    frames = [Image.new("RGB", (16, 12), colour) for colour in ANIMATION_COLOURS]
    return _save(frames[0], directory / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)


def animated_webp(directory: Path) -> Path:
    frames = [Image.new("RGB", (16, 12), colour) for colour in ANIMATION_COLOURS]
    path = directory / "animated.webp"
    return _save(frames[0], path, save_all=True, append_images=frames[1:], duration=100, lossless=True)


def animated_png(directory: Path) -> Path:
    frames = [Image.new("RGB", (16, 12), colour) for colour in ANIMATION_COLOURS]
    return _save(frames[0], directory / "animated.png", save_all=True, append_images=frames[1:], duration=100)


# ---- clips --------------------------------------------------------------------------------------------------------


def pattern_mp4(directory: Path, count: int = 40) -> Path:
    """40 numbered 64×64 frames at ``CLIP_FPS`` (5 s), H.264."""
    path = directory / "pattern.mp4"
    write_test_clip(path, pattern_frames(count, 64), fps=CLIP_FPS)
    return path


def truncated_mp4(directory: Path) -> Path:
    """The first half of a valid MP4 whose index (moov) sits at the end, so the index is gone."""
    path = directory / "truncated.mp4"
    write_test_clip(path, pattern_frames(40, 64), fps=CLIP_FPS)
    data = path.read_bytes()
    return _write(path, data[: len(data) // 2])


def garbage_mp4(directory: Path) -> Path:
    """An MP4 signature followed by noise."""
    noise = np.random.default_rng(11).integers(0, 256, 8192, dtype=np.uint8).tobytes()
    return _write(directory / "garbage.mp4", struct.pack(">I", 24) + b"ftypisom" + bytes(12) + noise)


def audio_only_m4a(directory: Path) -> Path:
    """One second of a 440 Hz tone, AAC in an MP4 (.m4a) container: no video stream."""
    path = directory / "tone.m4a"
    rate = 44_100
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        samples = (0.2 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, rate, frame_size):
            chunk = samples[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def zero_frame_avi(directory: Path) -> Path:
    """A valid AVI with an MJPEG video stream that holds no frames. (The MP4 and MOV muxers drop an empty track,
    which makes a file with no video stream at all; Matroska writes one FFmpeg will not open.)"""
    path = directory / "zero_frames.avi"
    write_test_clip(path, np.zeros((0, 32, 32, 3), dtype=np.uint8), codec="mjpeg")
    return path


def one_frame_mp4(directory: Path) -> Path:
    path = directory / "one_frame.mp4"
    write_test_clip(path, pattern_frames(1, 64))
    return path


def clip_4k(directory: Path) -> Path:
    """Three 3840×2160 frames: large flat areas, so tiny on disk but a full 4K decode."""
    frames = np.zeros((3, 2160, 3840, 3), dtype=np.uint8)
    for index in range(3):
        frames[index] = np.kron(index_pattern(index + 1, GRID), np.ones((2160 // GRID, 3840 // GRID, 1), np.uint8))
    path = directory / "uhd_4k.mp4"
    write_test_clip(path, frames, fps=CLIP_FPS)
    return path


def long_clip(directory: Path) -> Path:
    """Ten minutes of numbered 16×16 frames at 1 fps with a keyframe every 10 frames (as phones do every second or
    two): small on disk, 600 frames to decode if read front to back."""
    path = directory / "ten_minutes.mp4"
    write_test_clip(path, pattern_frames(LONG_CLIP_SECONDS, 16), fps=1.0, gop=10)
    return path


def vfr_mp4(directory: Path) -> Path:
    """Numbered frames at the irregular times in ``VFR_TIMES``."""
    path = directory / "vfr.mp4"
    write_test_clip(path, pattern_frames(len(VFR_TIMES), 64), fps=CLIP_FPS, times=VFR_TIMES)
    return path


def vp9_webm(directory: Path) -> Path:
    path = directory / "clip.webm"
    write_test_clip(path, pattern_frames(24, 64), fps=CLIP_FPS, codec="libvpx-vp9")
    return path


def mjpeg_avi(directory: Path) -> Path:
    path = directory / "clip.avi"
    write_test_clip(path, pattern_frames(24, 64), fps=CLIP_FPS, codec="mjpeg")
    return path


def pattern_gif(directory: Path) -> Path:
    """24 numbered frames, 125 ms each (8 fps), as an animated GIF."""
    frames = [Image.fromarray(frame) for frame in pattern_frames(24, 64)]
    path = directory / "clip.gif"
    return _save(frames[0], path, save_all=True, append_images=frames[1:], duration=125, loop=0)


def rotated_mp4(directory: Path) -> Path:
    """64×32 frames stored landscape (left half red, right half blue, frame number in the red half) with a display
    matrix saying "rotate 90° clockwise" (-90 counter-clockwise), as a phone held upright writes."""
    frames = np.zeros((8, 32, 64, 3), dtype=np.uint8)
    frames[:, :, :32], frames[:, :, 32:] = EXIF_LEFT, EXIF_RIGHT
    path = directory / "rotated.mp4"
    write_test_clip(path, frames, fps=CLIP_FPS, rotation=-90)
    return path


def still_as_clip(directory: Path) -> Path:
    return _save(Image.fromarray(index_pattern(5, 64)), directory / "still.png")


IMAGE_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "zero_byte": zero_byte,
    "truncated_jpeg": truncated_jpeg,
    "truncated_png": truncated_png,
    "text_as_jpeg": text_as_jpeg,
    "html_page": html_page,
    "random_bytes": random_bytes,
    "svg": svg_image,
    "bomb": png_bomb,
    "over_limit": over_limit_png,
    "long_side": long_side_png,
    "extreme_aspect": extreme_aspect_png,
    "limit_aspect": limit_aspect_png,
    "one_pixel": one_pixel_png,
    "cmyk": cmyk_jpeg,
    "gradient16": gradient_png16,
    "palette_transparent": palette_transparent_png,
    "la": la_png,
    "rgba": rgba_png,
    "exif_rotated": exif_rotated_jpeg,
    "animated_gif": animated_gif,
    "animated_webp": animated_webp,
    "animated_png": animated_png,
}

CLIP_BUILDERS: dict[str, Callable[[Path], Path]] = {
    "pattern_mp4": pattern_mp4,
    "truncated_mp4": truncated_mp4,
    "garbage_mp4": garbage_mp4,
    "audio_only": audio_only_m4a,
    "zero_frames": zero_frame_avi,
    "one_frame": one_frame_mp4,
    "uhd_4k": clip_4k,
    "long": long_clip,
    "vfr": vfr_mp4,
    "vp9_webm": vp9_webm,
    "mjpeg_avi": mjpeg_avi,
    "gif": pattern_gif,
    "rotated": rotated_mp4,
    "still": still_as_clip,
}


def build_all(directory: Path) -> dict[str, Path]:
    """Build every image and clip into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    return {name: build(directory) for name, build in {**IMAGE_BUILDERS, **CLIP_BUILDERS}.items()}


def available_encoders(names: tuple[str, ...] = ("libx264", "libvpx-vp9", "mjpeg", "gif", "aac")) -> set[str]:
    """Which of these encoders the installed PyAV wheel has (tests skip builders whose encoder is missing)."""
    found = set()
    for name in names:
        try:
            av.codec.Codec(name, "w")
        except av.codec.codec.UnknownCodecError:
            continue
        found.add(name)
    return found


def _noise(width: int, height: int) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


# ---- checkpoints --------------------------------------------------------------------------------------------------
# Built from a small CBAM-ResNet (basic blocks 1-1-1-1, widths 8..64, 5 classes: ~0.3 MB) so every case is cheap;
# each returns the path and the start of the sentence every front end must show (None: it must load).

CHECKPOINT_CLASSES = 5


def small_checkpoint_state(seed: int = 0) -> dict:
    """The state_dict of a small, seeded CBAM-ResNet in our own layout (what a user's fine-tune would save)."""
    import torch

    from visualiser.models.configs import ResNetConfig
    from visualiser.models.resnet import build_resnet

    config = ResNetConfig(
        block="basic", layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), stem_width=8, num_classes=CHECKPOINT_CLASSES,
        attn="cbam", attn_options=(("reduction", 4),),
    )  # fmt: skip
    torch.manual_seed(seed)
    model = build_resnet(config)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and "running_var" not in name:
                tensor.copy_(torch.randn_like(tensor) * 0.1)
    return {k: v.clone().contiguous() for k, v in model.state_dict().items()}


def write_safetensors(path: Path, entries: list[tuple[str, str, tuple[int, ...], bytes]], pad: bytes = b"") -> Path:
    """A safetensors file written by hand: (name, dtype code, shape, raw bytes) in order, offsets as declared."""
    import json

    header, offset = {}, 0
    for name, code, shape, data in entries:
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return _write(path, struct.pack("<Q", len(raw)) + raw + b"".join(d for *_, d in entries) + pad)


def many_tensors(directory: Path, count: int = 200_000) -> Path:
    """``count`` float32 scalars: a header far over any network's (1.38 M of them make the issue's 99 MB file)."""
    import json

    path = directory / f"many_{count}.safetensors"
    header = {f"{i:x}": {"dtype": "F32", "shape": [], "data_offsets": [4 * i, 4 * i + 4]} for i in range(count)}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return _write(path, struct.pack("<Q", len(raw)) + raw + bytes(4 * count))


def _save_state(path: Path, state: dict) -> Path:
    import torch
    from safetensors.torch import save_file

    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def _converted(state: dict, dtype: object) -> dict:
    return {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}


def int8_safetensors(directory: Path) -> Path:
    import torch

    state = {k: (v * 100).round().clamp(-128, 127) for k, v in small_checkpoint_state().items()}
    return _save_state(directory / "quantised_int8.safetensors", _converted(state, torch.int8))


def int8_pth(directory: Path) -> Path:
    import torch

    state = {k: (v * 100).round().clamp(-128, 127) for k, v in small_checkpoint_state().items()}
    return _save_state(directory / "quantised_int8.pth", _converted(state, torch.int8))


def bool_safetensors(directory: Path) -> Path:
    return _save_state(directory / "binary.safetensors", {k: v > 0 for k, v in small_checkpoint_state().items()})


def float8_safetensors(directory: Path) -> Path:
    import torch

    return _save_state(directory / "fp8.safetensors", _converted(small_checkpoint_state(), torch.float8_e4m3fn))


def nan_weights(directory: Path) -> Path:
    state = small_checkpoint_state()
    state["layer2.0.conv1.weight"][0, 0, 0, 0] = float("nan")
    return _save_state(directory / "nan.safetensors", state)


def inf_weights(directory: Path) -> Path:
    state = small_checkpoint_state()
    state["fc.weight"][1, 3] = float("inf")
    return _save_state(directory / "inf.pth", state)


def overflowing_weights(directory: Path) -> Path:
    """Finite weights whose forward pass overflows float32: the stem's BatchNorm scales by 3e38."""
    state = small_checkpoint_state()
    state["bn1.weight"].fill_(3e38)
    return _save_state(directory / "overflow.safetensors", state)


def os_system_pickle(directory: Path) -> Path:
    """The common malicious pickle: a state_dict whose extra entry calls ``os.system`` when unpickled."""
    import os

    import torch

    class Payload:
        def __reduce__(self) -> tuple:
            return (os.system, ("echo pwned > /dev/null",))

    path = directory / "evil_os_system.pth"
    torch.save({"state_dict": small_checkpoint_state(), "hook": Payload()}, path)
    return path


def zip_slip(directory: Path) -> Path:
    """A torch zip whose extra member is named ``../../escaped.txt``."""
    import zipfile

    path = _save_state(directory / "zip_slip.pth", small_checkpoint_state())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("../../escaped.txt", "outside")
    return path


def truncated_safetensors(directory: Path) -> Path:
    path = _save_state(directory / "cut.safetensors", small_checkpoint_state())
    data = path.read_bytes()
    return _write(path, data[: len(data) * 3 // 4])


def wrong_shape(directory: Path) -> Path:
    """Every key of the layout, but ``layer3.0.conv2.weight`` of a wider block: only that one is named."""
    import torch

    state = small_checkpoint_state()
    state["layer3.0.conv2.weight"] = torch.zeros(32, 32, 5, 5)
    return _save_state(directory / "wrong_shape.safetensors", state)


def good_checkpoint(directory: Path, name: str = "finetuned.safetensors", seed: int = 0) -> Path:
    return _save_state(directory / name, small_checkpoint_state(seed))


# name → (builder, what the refusal says; None: it loads)
CHECKPOINT_BUILDERS: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "many_tensors": (many_tensors, "many_200000.safetensors holds 200000 tensors; a ResNet has at most a few"),
    "int8": (int8_safetensors, "quantised_int8.safetensors holds int8 tensors"),
    "int8_pth": (int8_pth, "quantised_int8.pth holds int8 tensors"),
    "bool": (bool_safetensors, "binary.safetensors holds bool tensors"),
    "float8": (float8_safetensors, "fp8.safetensors holds float8 tensors"),
    "nan": (nan_weights, "nan.safetensors holds NaN or infinite values (layer2.0.conv1.weight: 1 of"),
    "inf": (inf_weights, "inf.pth holds NaN or infinite values (fc.weight: 1 of"),
    "overflow": (overflowing_weights, "CBAM-ResNet-10 (attention-visualiser layout, 5 classes, from "
                 "overflow.safetensors) computed NaN or infinite values for this input"),
    "os_system": (os_system_pickle, "evil_os_system.pth holds a Python object (posix.system), which is never "
                  "unpickled here because that could run code"),
    "zip_slip": (zip_slip, "zip_slip.pth holds a zip entry named ../../escaped.txt, which torch.save never writes"),
    "truncated": (truncated_safetensors, "cut.safetensors is a damaged safetensors file"),
    "wrong_shape": (wrong_shape, "wrong_shape.safetensors comes closest to CBAM-ResNet-10 (attention-visualiser "
                    "layout) but does not fit it: shapes that differ (checkpoint vs ours): layer3.0.conv2.weight "
                    "(32, 32, 5, 5) vs (32, 32, 3, 3)"),
    "good": (good_checkpoint, None),
}  # fmt: skip


def build_checkpoints(directory: Path) -> dict[str, tuple[Path, str | None]]:
    """Every hostile (and one good) checkpoint into ``directory``: name → (path, expected sentence start)."""
    directory.mkdir(parents=True, exist_ok=True)
    return {name: (build(directory), expected) for name, (build, expected) in CHECKPOINT_BUILDERS.items()}
