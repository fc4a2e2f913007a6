"""Preprocessing reproduces the evaluation recipes and records where the crop came from."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from visualiser.models.registry import Preprocess
from visualiser.preprocess import image_geometry, preprocess_clip, preprocess_image

IMAGENET = Preprocess(input_size=224, crop_pct=0.875, interpolation="bilinear")


def _gradient(w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // max(1, w - 1), yy * 255 // max(1, h - 1), (xx + yy) % 256], -1).astype(np.uint8)


def test_geometry_of_a_landscape_image_follows_resize_256_crop_224():
    g = image_geometry(640, 480, IMAGENET)
    assert g.resized_size == (341, 256)  # short side 256 = floor(224 / 0.875)
    assert g.crop_box == (58, 16, 282, 240)
    left, top, right, bottom = g.crop_in_original()
    assert abs((left + right) / 2 - 320) < 1.5 and abs((top + bottom) / 2 - 240) < 1.5
    assert abs((bottom - top) - 224 * 480 / 256) < 1e-6


def test_crop_pixels_are_the_resized_centre_and_normalisation_inverts():
    image = _gradient(300, 200)
    x, crop, g = preprocess_image(image, IMAGENET)
    assert x.shape == (1, 3, 224, 224) and crop.shape == (224, 224, 3)
    reference = np.asarray(Image.fromarray(image).resize(g.resized_size, Image.Resampling.BILINEAR).crop(g.crop_box))
    np.testing.assert_array_equal(crop, reference)
    mean = torch.tensor(IMAGENET.mean).view(3, 1, 1)
    std = torch.tensor(IMAGENET.std).view(3, 1, 1)
    back = (x[0] * std + mean).permute(1, 2, 0).numpy() * 255
    np.testing.assert_allclose(back, crop, atol=1e-3)


def test_bicubic_and_crop_pct_one():
    pre = Preprocess(input_size=112, crop_pct=1.0, interpolation="bicubic")
    g = image_geometry(112, 112, pre)
    assert g.resized_size == (112, 112) and g.crop_box == (0, 0, 112, 112)
    x, crop, _ = preprocess_image(_gradient(112, 112), pre)
    np.testing.assert_array_equal(crop, _gradient(112, 112))
    assert x.shape == (1, 3, 112, 112)


def test_video_recipe_resizes_to_fixed_size_without_antialias_and_crops_112():
    pre = Preprocess(
        input_size=112,
        crop_pct=1.0,
        frames=4,
        resize_hw=(128, 171),
        antialias=False,
        mean=(0.43216, 0.394666, 0.37645),
        std=(0.22803, 0.22145, 0.216989),
    )
    frames = np.stack([_gradient(320, 240) for _ in range(4)])
    x, crops, g = preprocess_clip(frames, pre)
    assert x.shape == (1, 3, 4, 112, 112) and crops.shape == (4, 112, 112, 3)
    assert g.resized_size == (171, 128) and g.crop_box == (30, 8, 142, 120)
    # independent: per-frame torch resize of one frame, crop, normalise
    f = torch.from_numpy(frames[0]).permute(2, 0, 1)[None].float()
    r = torch.nn.functional.interpolate(f, size=(128, 171), mode="bilinear", align_corners=False)[0, :, 8:120, 30:142]
    expected = (r / 255 - torch.tensor(pre.mean).view(3, 1, 1)) / torch.tensor(pre.std).view(3, 1, 1)
    torch.testing.assert_close(x[0, :, 0], expected)
