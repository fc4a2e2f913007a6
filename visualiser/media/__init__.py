"""Decoding user images and clips safely: limits first, then pixels, always (H, W, 3) / (T, H, W, 3) uint8 RGB."""

from visualiser.media.clip import Clip, load_clip, select_evenly
from visualiser.media.digest import source_sha1
from visualiser.media.encode import write_video
from visualiser.media.image import SUPPORTED_FORMATS, NotAnImageError, image_to_rgb, load_image, open_image
from visualiser.media.limits import DEFAULT_LIMITS, MediaLimits

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED_FORMATS",
    "Clip",
    "MediaLimits",
    "NotAnImageError",
    "image_to_rgb",
    "load_clip",
    "load_image",
    "open_image",
    "select_evenly",
    "source_sha1",
    "write_video",
]
