"""Size, length and time caps for everything a user can upload.

Decoders check these *before* they allocate: an image's size comes from its header and a clip's from its
container, so a 900-megapixel PNG of a few kilobytes or a ten-hour video is refused without being decoded.
The defaults suit a shared CPU Space; ``MediaLimits.from_env`` lets a deployment raise or lower them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from visualiser.errors import InputError

_MB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """Caps applied by ``load_image`` and ``load_clip``.

    Attributes:
        max_file_bytes: Largest file (or byte string) accepted at all.
        max_image_pixels: Largest decoded width × height of a still image (decompression-bomb guard).
            Pillow's own hard cap (twice ``PIL.Image.MAX_IMAGE_PIXELS``, about 179 MP) still applies above it.
        max_image_side: Longest side of a still image.
        max_aspect: Longest side divided by shortest side. Models resize to a square, so a 1000:1 strip
            would become a line of a pixel or two; anything up to 50:1 is accepted.
        max_clip_seconds: Longest clip duration.
        max_clip_pixels_per_frame: Largest frame of a clip (4K); frames are downscaled as they are decoded.
        max_frames: Most frames ever sampled from one clip.
        decode_timeout_s: Wall-clock budget for decoding one clip or animation.
    """

    max_file_bytes: int = 50 * _MB
    max_image_pixels: int = 40_000_000
    max_image_side: int = 20_000
    max_aspect: float = 50.0
    max_clip_seconds: float = 600.0
    max_clip_pixels_per_frame: int = 3840 * 2160
    max_frames: int = 64
    decode_timeout_s: float = 30.0

    @classmethod
    def from_env(cls) -> MediaLimits:
        """Build limits from ``VISUALISER_MAX_FILE_MB``, ``VISUALISER_MAX_IMAGE_PIXELS``,
        ``VISUALISER_MAX_CLIP_SECONDS`` and ``VISUALISER_MAX_FRAMES``; unset variables keep the defaults.

        Raises:
            ValueError: A variable is set but is not a positive number (a deployment mistake, so it fails loudly
                at import rather than silently using the default).
        """
        defaults = cls()
        file_mb = _positive_env("VISUALISER_MAX_FILE_MB", defaults.max_file_bytes / _MB)
        return cls(
            max_file_bytes=int(file_mb * _MB),
            max_image_pixels=int(_positive_env("VISUALISER_MAX_IMAGE_PIXELS", defaults.max_image_pixels)),
            max_clip_seconds=_positive_env("VISUALISER_MAX_CLIP_SECONDS", defaults.max_clip_seconds),
            max_frames=int(_positive_env("VISUALISER_MAX_FRAMES", defaults.max_frames)),
        )


def _positive_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}={raw!r} must be a positive, finite number")
    return value


def describe_megapixels(pixels: int) -> str:
    """``900000000 -> '900 MP'``, ``1234 -> '0.00123 MP'``: three significant digits, readable at any size."""
    return f"{pixels / 1e6:.3g} MP"


def check_dimensions(width: int, height: int, *, max_pixels: int, max_side: int, max_aspect: float, what: str) -> None:
    """Refuse sizes that are empty, too many pixels, too long a side or too thin a strip.

    Called with the size read from a header, before any pixel is decoded.

    Raises:
        InputError: With the size and the limit it broke, e.g. "image is 30000×30000 = 900 MP; the limit is 40 MP".
    """
    if width < 1 or height < 1:
        raise InputError(f"{what} has no pixels ({width}×{height})")
    pixels = width * height
    if pixels > max_pixels:
        size, limit = describe_megapixels(pixels), describe_megapixels(max_pixels)
        raise InputError(f"{what} is {width}×{height} = {size}; the limit is {limit}")
    if max(width, height) > max_side:
        raise InputError(f"{what} is {width}×{height}; the longest side allowed is {max_side} pixels")
    aspect = max(width, height) / min(width, height)
    if aspect > max_aspect:
        raise InputError(
            f"{what} is {width}×{height}, an aspect ratio of {aspect:.0f}:1; the limit is {max_aspect:g}:1 "
            "(crop it to the interesting part)"
        )


def check_file(path: str | os.PathLike[str], limits: MediaLimits) -> Path:
    """Return ``path`` as a ``Path`` once it is known to be an existing, non-empty file within the size limit.

    Raises:
        InputError: The file is missing, a directory, empty or larger than ``limits.max_file_bytes``.
    """
    file = Path(path)
    try:
        stat = file.stat()
    except FileNotFoundError:
        raise InputError(f"no such file: {file.name}") from None
    except OSError as exc:
        raise InputError(f"cannot read {file.name}: {exc.strerror or exc}") from exc
    if not file.is_file():
        raise InputError(f"{file.name} is not a file")
    if stat.st_size == 0:
        raise InputError(f"{file.name} is empty (0 bytes)")
    check_byte_count(stat.st_size, limits, file.name)
    return file


def check_byte_count(size: int, limits: MediaLimits, name: str) -> None:
    """Refuse uploads over ``limits.max_file_bytes`` before reading them."""
    if size > limits.max_file_bytes:
        raise InputError(f"{name} is {size / _MB:.1f} MB; the limit is {limits.max_file_bytes / _MB:.0f} MB")


DEFAULT_LIMITS = MediaLimits.from_env()
