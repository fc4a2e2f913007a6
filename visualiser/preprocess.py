"""Turn decoded pixels into the tensor a model was trained on, remembering the crop geometry.

Images follow the timm / torchvision evaluation recipe: resize the short side to
``input_size / crop_pct`` with the spec's interpolation (Pillow, antialiased, as torchvision
does on PIL images), centre-crop ``input_size``, scale to [0, 1], normalise. Clips follow
torchvision's video recipe: resize every frame to ``resize_hw`` (bilinear, antialias off, as the
Kinetics weights expect), centre-crop, normalise, layout (C, T, H, W).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

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
    """(..., H, W, 3) uint8 → float tensor (..., 3, H, W) scaled to [0, 1] and standardised."""
    x = torch.from_numpy(np.array(pixels, dtype=np.float32, copy=True)).div_(255.0)
    x = x.movedim(-1, -3)
    mean = torch.tensor(pre.mean).view(3, 1, 1)
    std = torch.tensor(pre.std).view(3, 1, 1)
    return (x - mean) / std


def preprocess_image(image: np.ndarray, pre: Preprocess) -> tuple[torch.Tensor, np.ndarray, CropGeometry]:
    """(H, W, 3) uint8 → (1, 3, S, S) tensor, the (S, S, 3) uint8 crop the model sees, and its geometry."""
    height, width = image.shape[:2]
    geometry = image_geometry(width, height, pre)
    pil = Image.fromarray(image)
    if geometry.resized_size != (width, height):
        pil = pil.resize(geometry.resized_size, _PIL_INTERP[pre.interpolation])
    crop = np.asarray(pil.crop(geometry.crop_box), dtype=np.uint8)
    return normalise(crop, pre).unsqueeze(0), crop, geometry


def preprocess_clip(frames: np.ndarray, pre: Preprocess) -> tuple[torch.Tensor, np.ndarray, CropGeometry]:
    """(T, H, W, 3) uint8 → (1, 3, T, S, S) tensor, the (T, S, S, 3) uint8 crops, and the per-frame geometry.

    ``pre.resize_hw`` set: torchvision's video transform (tensor bilinear resize to a fixed (H, W),
    antialias as in the spec). Unset: each frame is resized like an image (short side).
    """
    height, width = frames.shape[1:3]
    size = pre.input_size
    if pre.resize_hw is not None:
        rh, rw = pre.resize_hw
        x = torch.from_numpy(np.array(frames, dtype=np.float32, copy=True)).permute(0, 3, 1, 2)  # (T, 3, H, W)
        x = F.interpolate(x, size=(rh, rw), mode="bilinear", align_corners=False, antialias=pre.antialias)
        box = _centre_box(rw, rh, size)
        x = x[:, :, box[1] : box[3], box[0] : box[2]]
        crops = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
        x = x / 255.0
        mean = torch.tensor(pre.mean).view(1, 3, 1, 1)
        std = torch.tensor(pre.std).view(1, 3, 1, 1)
        x = ((x - mean) / std).permute(1, 0, 2, 3)  # (3, T, S, S)
        return x.unsqueeze(0).contiguous(), crops, CropGeometry((width, height), (rw, rh), box)
    tensors, crops = [], []
    geometry = image_geometry(width, height, pre)
    for frame in frames:
        tensor, crop, geometry = preprocess_image(frame, pre)
        tensors.append(tensor[0])
        crops.append(crop)
    x = torch.stack(tensors, dim=1)  # (3, T, S, S)
    return x.unsqueeze(0), np.stack(crops), geometry
