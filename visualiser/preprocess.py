"""Turn decoded pixels into the tensor a model was trained on, remembering the crop geometry.

Images follow the timm / torchvision evaluation recipe: resize the short side to
``input_size / crop_pct`` with the spec's interpolation (Pillow, antialiased, as torchvision
does on PIL images), centre-crop ``input_size``, scale to [0, 1], normalise. Clips follow
torchvision's video recipe: resize every frame to ``resize_hw`` (bilinear, antialias off, as the
Kinetics weights expect), centre-crop, normalise, layout (C, T, H, W).

A network taking other than 3 channels (``Preprocess.channels``): a picture is turned grey for a 1-channel
network; bands (``media.bands``) are resized band by band with the same filter (uint8 bands exactly as picture
pixels are, float bands without rounding), cropped, and standardised with one mean / std per channel.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from visualiser.errors import InputError
from visualiser.media.bands import grey, is_rgb, picture_of
from visualiser.models.registry import Preprocess
from visualiser.result import CropGeometry

_PIL_INTERP = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def _centre_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    left = round((width - size) / 2.0)
    top = round((height - size) / 2.0)
    return (left, top, left + size, top + size)


def image_geometry(width: int, height: int, pre: Preprocess) -> CropGeometry:
    """Where the model's crop lies for an image of this size (no pixels needed)."""
    short = max(1, math.floor(pre.input_size / pre.crop_pct))
    if width <= height:
        new_w, new_h = short, max(1, int(short * height / width))
    else:
        new_w, new_h = max(1, int(short * width / height)), short
    return CropGeometry((width, height), (new_w, new_h), _centre_box(new_w, new_h, pre.input_size))


def normalise(pixels: np.ndarray, pre: Preprocess) -> torch.Tensor:
    """(..., H, W, C) uint8 → float tensor (..., C, H, W) scaled to [0, 1] and standardised (C = ``pre.channels``)."""
    return _standardise(torch.from_numpy(np.array(pixels, dtype=np.float32, copy=True)).div_(255.0), pre)


def _standardise(values: torch.Tensor, pre: Preprocess) -> torch.Tensor:
    """(..., H, W, C) values in the network's units → (..., C, H, W), minus the mean, over the std, per channel."""
    x = values.movedim(-1, -3)
    mean = torch.tensor(pre.mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(pre.std, dtype=torch.float32).view(-1, 1, 1)
    return (x - mean) / std


def preprocess_image(image: np.ndarray, pre: Preprocess) -> tuple[torch.Tensor, np.ndarray, CropGeometry]:
    """(H, W, 3) uint8 picture, or (H, W, C) bands → (1, C, S, S) tensor, the (S, S, 3) uint8 picture of what the
    model sees (grey for one channel, the bands' mean for several), and the crop's geometry."""
    if pre.channels == 3 and is_rgb(image):
        height, width = image.shape[:2]
        geometry = image_geometry(width, height, pre)
        pil = Image.fromarray(image)
        if geometry.resized_size != (width, height):
            pil = pil.resize(geometry.resized_size, _PIL_INTERP[pre.interpolation])
        crop = np.asarray(pil.crop(geometry.crop_box), dtype=np.uint8)
        return normalise(crop, pre).unsqueeze(0), crop, geometry
    return _preprocess_bands(network_bands(image, pre.channels), pre)


def network_bands(image: np.ndarray, channels: int) -> np.ndarray:
    """The input as the network's ``channels`` bands: a picture turned grey for one channel, bands as they are."""
    if channels == 1 and is_rgb(image):
        return grey(image)
    bands = image[:, :, None] if image.ndim == 2 else image
    if bands.shape[2] != channels:
        what = "a picture (RGB)" if is_rgb(image) else f"{bands.shape[2]} band(s)"
        raise InputError(
            f"this network takes {channels} channel(s) (Preprocess(channels={channels})); the input has {what}: "
            f"pass a NumPy array shaped (H, W, {channels})"
        )
    return bands


def _preprocess_bands(bands: np.ndarray, pre: Preprocess) -> tuple[torch.Tensor, np.ndarray, CropGeometry]:
    """Each band resized and cropped as a picture channel is (uint8 exactly so, floats unrounded), then standardised."""
    height, width = bands.shape[:2]
    geometry = image_geometry(width, height, pre)
    whole = bands.dtype == np.uint8
    cropped = []
    for c in range(bands.shape[2]):
        band = Image.fromarray(np.ascontiguousarray(bands[:, :, c] if whole else bands[:, :, c].astype(np.float32)))
        if geometry.resized_size != (width, height):
            band = band.resize(geometry.resized_size, _PIL_INTERP[pre.interpolation])
        cropped.append(np.asarray(band.crop(geometry.crop_box)))
    crop = np.stack(cropped, axis=-1)  # (S, S, C), uint8 or float32
    values = torch.from_numpy(crop.astype(np.float32))
    x = _standardise(values.div_(255.0) if whole else values, pre)
    return x.unsqueeze(0), picture_of(crop), geometry


def preprocess_clip(frames: np.ndarray, pre: Preprocess) -> tuple[torch.Tensor, np.ndarray, CropGeometry]:
    """(T, H, W, 3) uint8 → (1, C, T, S, S) tensor, the (T, S, S, 3) uint8 crops, and the per-frame geometry.

    ``pre.resize_hw`` set: torchvision's video transform (tensor bilinear resize to a fixed (H, W),
    antialias as in the spec). Unset: each frame is resized like an image (short side). A 1-channel
    network sees the frames grey.
    """
    height, width = frames.shape[1:3]
    size = pre.input_size
    if pre.resize_hw is not None:
        rh, rw = pre.resize_hw
        if pre.channels != 3:
            frames = np.stack([network_bands(frame, pre.channels) for frame in frames])
        x = torch.from_numpy(np.array(frames, dtype=np.float32, copy=True)).permute(0, 3, 1, 2)  # (T, C, H, W)
        x = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=pre.antialias)
        box = _centre_box(rw, rh, size)
        x = x[:, :, box[1] : box[3], box[0] : box[2]]
        crops = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        x = x / 255.0
        mean = torch.tensor(pre.mean).view(1, -1, 1, 1)
        std = torch.tensor(pre.std).view(1, -1, 1, 1)
        x = ((x - mean) / std).permute(1, 0, 2, 3)  # (C, T, S, S)
        pictures = crops if crops.shape[3] == 3 else np.stack([picture_of(crop) for crop in crops])
        return x.unsqueeze(0).contiguous(), pictures, CropGeometry((width, height), (rw, rh), box)
    tensors, crops = [], []
    geometry = image_geometry(width, height, pre)
    for frame in frames:
        tensor, crop, geometry = preprocess_image(frame, pre)
        tensors.append(tensor[0])
        crops.append(crop)
    x = torch.stack(tensors, dim=1)  # (C, T, S, S)
    return x.unsqueeze(0), np.stack(crops), geometry
