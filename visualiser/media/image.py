"""Still images from any source to one canonical form: an (H, W, 3) uint8 RGB array.

The order matters for safety: the header is read (Pillow opens lazily), its size checked against the limits,
and only then are pixels decoded, with ``load()`` forced so a truncated file fails here instead of producing a
half-grey picture later. Transparent pixels are composited over **white**: transparent logos and stickers are
drawn for light pages, and over black their background would turn into a dark shape the network would attend to.
Colour profiles (ICC) are not applied; CMYK uses Pillow's plain conversion.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visualiser.errors import InputError
from visualiser.media.limits import DEFAULT_LIMITS, MediaLimits, check_byte_count, check_dimensions, check_file

logger = logging.getLogger(__name__)

# Formats we let Pillow identify. Others (EPS runs Ghostscript, TGA has no magic number and matches random
# bytes, PSD, ICO, ...) are refused up front rather than trusted to every plugin.
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF", "PPM", "AVIF")

# What Pillow's plugins raise on damaged data; each becomes an InputError that keeps the original as its cause.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)

_EXIF_ORIENTATION = 0x0112
_HIGH_DEPTH_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

ImageSource = str | os.PathLike[str] | bytes | np.ndarray | Image.Image
_UNKNOWN_IMAGE = "unknown or unsupported format; use PNG, JPEG, GIF, WebP, BMP or TIFF"


class NotAnImageError(InputError):
    """No supported Pillow plugin recognises the data (as opposed to an image that is damaged or too large)."""


def load_image(source: ImageSource, limits: MediaLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode an image into an (H, W, 3) uint8 RGB array, C-contiguous and owned by the caller.

    Applies EXIF orientation, keeps only the first frame of an animation, scales 16-bit and float data to the full
    0..255 range and composites transparency over white.

    Args:
        source: A file path, the file's bytes, a ``PIL.Image.Image``, or an array shaped (H, W), (H, W, 1),
            (H, W, 3) or (H, W, 4) holding uint8 values or floats in [0, 1].
        limits: Caps on file size and pixel count.

    Raises:
        InputError: The source is empty, corrupt, truncated, not a supported image, or over a limit.
    """
    if isinstance(source, np.ndarray):
        return array_to_rgb(source, limits)
    if isinstance(source, Image.Image):
        _check_image_size(source, limits, "the image")
        return _decode(source, "the image", limits)
    with open_image(source, limits) as image:
        return _decode(image, _source_name(source), limits)


def open_image(source: str | os.PathLike[str] | bytes, limits: MediaLimits = DEFAULT_LIMITS) -> Image.Image:
    """Open an image lazily and check its header size, without decoding pixels; use it as a context manager.

    Raises:
        InputError: As for ``load_image``; a file Pillow does not recognise gets a reason sniffed from its first bytes.
    """
    name = _source_name(source)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise InputError("the image is empty (0 bytes)")
        check_byte_count(len(data), limits, name)
        fp: io.BytesIO | Path = io.BytesIO(data)
    elif isinstance(source, str | os.PathLike):
        fp = check_file(source, limits)
    else:
        raise InputError(f"cannot read an image from a {type(source).__name__}")
    try:
        image = Image.open(fp, formats=_available_formats())
    except UnidentifiedImageError:
        raise NotAnImageError(f"{name} is not an image Pillow can read ({describe_unreadable(_prefix(fp))})") from None
    except ImportError as exc:  # a replaced opener fetching a plugin (ultralytics: pi_heif), not Pillow itself
        raise NotAnImageError(
            f"{name} is not an image Pillow can read ({describe_unreadable(_prefix(fp))}); PIL.Image.open is "
            f"replaced in this process by {_opener_name()}, which then failed: {exc}"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise InputError(_bomb_message(name, exc, limits)) from exc
    except DECODE_ERRORS as exc:
        raise InputError(f"{name} is a damaged image: {exc}") from exc
    try:
        _check_image_size(image, limits, name)
    except InputError:
        image.close()
        raise
    return image


def image_to_rgb(image: Image.Image) -> np.ndarray:
    """Convert a decoded Pillow image of any mode to an (H, W, 3) uint8 array.

    16-bit and 32-bit integer data are scaled (65535 -> 255), not clipped; floats in [0, 1] are scaled by 255 and any
    other float range is stretched to 0..255. Alpha and palette transparency are composited over white.
    """
    if image.mode in _HIGH_DEPTH_MODES:
        grey = _high_depth_to_uint8(np.asarray(image))
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))  # (H, W, 3)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:  # palette, grey or RGB colour-key transparency
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        rgb = image if image.mode == "RGB" else image.convert("RGB")  # convert() to the same mode copies
    return np.array(rgb, dtype=np.uint8)  # (H, W, 3), a fresh C-contiguous copy the caller may write to


def array_to_rgb(array: np.ndarray, limits: MediaLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Validate an image array and return it as a new (H, W, 3) uint8 array (alpha over white).

    Raises:
        InputError: Wrong shape or dtype, floats outside [0, 1] or not finite, or over the pixel limits.
    """
    shape_ok = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))
    if not shape_ok:
        raise InputError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}")
    height, width = array.shape[:2]
    _check_size(width, height, limits, "image")
    if array.dtype == np.uint8:
        pixels = array
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError("a float image array contains NaN or infinity")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise InputError(f"a float image array must hold values in [0, 1]; got [{low:g}, {high:g}]")
        pixels = np.rint(array * 255.0).astype(np.uint8)
    else:
        raise InputError(f"an image array must be uint8 or float in [0, 1]; got {array.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]  # (H, W, 1)
    if pixels.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(pixels, 3, axis=2))  # (H, W, 3)
    if pixels.shape[2] == 4:
        alpha = pixels[:, :, 3:].astype(np.uint16)  # (H, W, 1)
        rgb = pixels[:, :, :3].astype(np.uint16)
        blended = (rgb * alpha + 255 * (255 - alpha) + 127) // 255  # round(rgb*a + 255*(1-a)) in integers
        return np.ascontiguousarray(blended.astype(np.uint8))
    return np.array(pixels, dtype=np.uint8, order="C", copy=True)


def describe_unreadable(prefix: bytes, unknown: str = _UNKNOWN_IMAGE) -> str:
    """Guess from a file's first bytes why it is not an image, for an error message a user can act on.

    Args:
        prefix: The first few kilobytes of the file.
        unknown: The reason to give when nothing is recognised.
    """
    if not prefix:
        return "the file is empty"
    head = prefix.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head[:4096] or (head.startswith(b"<?xml") and b"svg" in head):
        return "SVG is not supported; convert it to PNG"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "it is an HTML page, not an image; save the image itself"
    for magic, kind in (*_MAGIC_NUMBERS, (b"RIFF", "RIFF (WebP/AVI/WAV)")):
        if prefix.startswith(magic):
            return f"it starts like a {kind} file but is truncated or corrupt"
    if prefix[4:8] == b"ftyp":
        brand = prefix[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "HEIC/HEIF is not supported; convert it to JPEG or PNG"
        return "it is a video (MP4/MOV); use the clip input"
    if prefix.startswith(b"\x1a\x45\xdf\xa3"):
        return "it is a video (Matroska/WebM); use the clip input"
    if _looks_like_text(prefix):
        return "it is a text file, not an image or video"
    return unknown


_MAGIC_NUMBERS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def has_image_signature(prefix: bytes) -> bool:
    """True when the first bytes announce a PNG, JPEG, GIF, BMP, TIFF or WebP file, readable or not."""
    return any(prefix.startswith(magic) for magic, _ in _MAGIC_NUMBERS) or (
        prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP"
    )


def _looks_like_text(prefix: bytes) -> bool:
    # "replace" keeps a multi-byte character cut at the end of the prefix from disqualifying real text.
    text = prefix.decode("utf-8", errors="replace")
    readable = sum((ch.isprintable() and ch != "\ufffd") or ch in "\t\r\n" for ch in text)
    return readable / len(text) > 0.95


def _decode(image: Image.Image, name: str, limits: MediaLimits) -> np.ndarray:
    """Decode frame 0 fully, then orient and convert it."""
    try:
        image.load()  # forces every byte through the decoder: truncation raises here, not later
        oriented = _exif_transposed(image, name)
        return image_to_rgb(oriented)
    except Image.DecompressionBombError as exc:
        raise InputError(_bomb_message(name, exc, limits)) from exc
    except DECODE_ERRORS as exc:
        if "truncated" in str(exc).lower():
            raise InputError(f"{name} is truncated: the file ends before the image data does") from exc
        raise InputError(f"{name} could not be decoded ({exc})") from exc


def _exif_transposed(image: Image.Image, name: str) -> Image.Image:
    """Rotate/flip by the EXIF orientation tag. A broken EXIF block only costs the rotation: the pixels are fine."""
    try:
        if image.getexif().get(_EXIF_ORIENTATION, 1) == 1:
            return image  # upright: skip exif_transpose, which would copy the whole image
        transposed = ImageOps.exif_transpose(image)
    except DECODE_ERRORS as exc:
        logger.warning("%s: ignoring unreadable EXIF orientation (%s)", name, exc)
        return image
    return image if transposed is None else transposed


def _high_depth_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map 16/32-bit integer or float samples to uint8 by scaling, never by clipping."""
    if values.dtype.kind in "ui":
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high <= 65535:
            scaled = values.astype(np.float32) / 257.0  # 16-bit full range: 65535 / 257 = 255
        else:
            scaled = _stretch(values.astype(np.float64), low, high)
        return np.rint(scaled).astype(np.uint8)
    floats = values.astype(np.float32)
    finite = np.isfinite(floats)
    if not finite.any():
        return np.zeros(floats.shape, dtype=np.uint8)
    floats = np.where(finite, floats, 0.0)
    low, high = float(floats.min()), float(floats.max())
    scaled = floats * 255.0 if low >= 0.0 and high <= 1.0 else _stretch(floats, low, high)
    return np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.zeros(values.shape, dtype=np.float32)
    return ((values - low) * (255.0 / (high - low))).astype(np.float32)


def _check_image_size(image: Image.Image, limits: MediaLimits, name: str = "image") -> None:
    _check_size(*image.size, limits, name)


def _check_size(width: int, height: int, limits: MediaLimits, what: str) -> None:
    check_dimensions(
        width,
        height,
        max_pixels=limits.max_image_pixels,
        max_side=limits.max_image_side,
        max_aspect=limits.max_aspect,
        what=what,
    )


def _bomb_message(name: str, exc: Image.DecompressionBombError, limits: MediaLimits) -> str:
    """Pillow's own bomb guard fired before ours could (it runs inside ``Image.open``); keep its pixel count."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(match.group(1)) / 1e6:.3g} MP" if match else "too large to decode safely"
    return f"{name} is {size} (a possible decompression bomb); the limit is {limits.max_image_pixels / 1e6:.3g} MP"


def _opener_name() -> str:
    """Who ``PIL.Image.open`` is now (another library may have replaced it process-wide)."""
    opener = Image.open
    return f"{getattr(opener, '__module__', '?')}.{getattr(opener, '__qualname__', type(opener).__name__)}"


def _available_formats() -> list[str]:
    Image.init()
    return [name for name in SUPPORTED_FORMATS if name in Image.OPEN]


def _prefix(fp: io.BytesIO | Path, size: int = 4096) -> bytes:
    if isinstance(fp, io.BytesIO):
        return fp.getvalue()[:size]
    with fp.open("rb") as handle:
        return handle.read(size)


def _source_name(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return "the uploaded data"
