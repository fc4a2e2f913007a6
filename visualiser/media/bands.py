"""Inputs of networks that do not take RGB: one grey channel, or N bands handed over as a NumPy array.

A picture (a file, its bytes, a PIL image, an (H, W, 3) array) is decoded as every image is (``load_image``); a
network taking one channel sees it grey (``preprocess`` converts it). Values that are not a picture come as an
array with the network's band count: uint8 (÷ 255), uint16 (÷ 65535) or floats, used as given; the network's mean
and std then apply to those values. Bands are kept as uint8 (resized like picture pixels, exactly) or float32
(resized without rounding), so a 16-bit or float scan keeps its precision.

What heatmaps are drawn over is the picture the user gave: the RGB or grey picture itself; for bands, their mean,
a grey picture (uint8 as it is, floats in [0, 1] × 255, anything else stretched from its min..max).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from visualiser.errors import InputError
from visualiser.media.image import ImageSource, load_image
from visualiser.media.limits import DEFAULT_LIMITS, MediaLimits, check_dimensions


def is_rgb(pixels: np.ndarray) -> bool:
    """Whether ``pixels`` is a decoded picture, (H, W, 3) uint8, rather than bands."""
    return pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3


def load_input(source: ImageSource, channels: int, limits: MediaLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Decode ``source`` for a network taking ``channels`` channels: a picture, or its bands as given.

    Returns an (H, W, 3) uint8 picture (3 channels, or a picture for a grey network), else (H, W, C) uint8 or
    float32 bands. Raises ``InputError`` when a network of other than 1 or 3 channels gets anything but an array
    with its band count.
    """
    if channels != 3 and isinstance(source, np.ndarray):
        shape = source.shape
        if (channels == 1 and source.ndim == 2) or (source.ndim == 3 and shape[2] == channels):
            return bands_from_array(source, channels, limits)
    if channels in (1, 3):
        return load_image(source, limits)
    got = f"an array shaped {source.shape}" if isinstance(source, np.ndarray) else "a picture (RGB)"
    raise InputError(
        f"this network takes {channels} channels (Preprocess(channels={channels})); it was given {got}: "
        f"pass a NumPy array shaped (H, W, {channels})"
    )


def bands_from_array(array: np.ndarray, channels: int, limits: MediaLimits = DEFAULT_LIMITS) -> np.ndarray:
    """Check an (H, W[, C]) array of ``channels`` bands: uint8 stays uint8, others become float32 (uint16 / 65535)."""
    values = array[:, :, None] if array.ndim == 2 else array
    if values.ndim != 3 or values.shape[2] != channels:
        raise InputError(f"expected an array shaped (H, W, {channels}); got {array.shape}")
    height, width = values.shape[:2]
    check_dimensions(
        width,
        height,
        max_pixels=limits.max_image_pixels,
        max_side=limits.max_image_side,
        max_aspect=limits.max_aspect,
        what="the array",
    )
    if values.dtype == np.uint8:
        return np.array(values, order="C", copy=True)
    if values.dtype == np.uint16:
        return values.astype(np.float32) / 65535.0
    if not np.issubdtype(values.dtype, np.floating):
        raise InputError(f"band values must be uint8, uint16 or floating point; got {values.dtype}")
    floats = values.astype(np.float32)
    if not np.all(np.isfinite(floats)):
        raise InputError("the array contains NaN or infinity")
    return floats


def grey(picture: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB → (H, W, 1) uint8 luma (Pillow's ITU-R 601-2; exact for a grey picture, R = G = B)."""
    return np.asarray(Image.fromarray(picture).convert("L"), dtype=np.uint8)[:, :, None]


def picture_of(values: np.ndarray) -> np.ndarray:
    """What to draw heatmaps over: the picture itself, or the bands' mean as a grey (H, W, 3) uint8 picture."""
    if is_rgb(values):
        return values
    if values.dtype == np.uint8 and values.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(values, 3, axis=2))
    mean = values.astype(np.float32).mean(axis=2)
    if values.dtype == np.uint8:
        level = np.rint(mean)
    else:
        low, high = float(mean.min()), float(mean.max())
        if low >= 0.0 and high <= 1.0:
            level = np.rint(mean * 255.0)
        else:
            level = np.rint((mean - low) * (255.0 / (high - low))) if high > low else np.zeros_like(mean)
    return np.ascontiguousarray(np.repeat(level.astype(np.uint8)[:, :, None], 3, axis=2))
