"""Networks that do not take RGB: one grey channel, or N bands from a NumPy array, through every entry point."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.installed.nets import CbamUNet, SqueezeExcite
from visualiser import pipeline
from visualiser.errors import InputError
from visualiser.media.bands import load_input, picture_of
from visualiser.models.registry import Preprocess
from visualiser.preprocess import preprocess_clip, preprocess_image
from visualiser.render.spatial import overlay

GREY = Preprocess(input_size=64, crop_pct=1.0, channels=1, mean=(0.5,), std=(0.25,))


def _scan(height: int = 64, width: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return np.clip(128 + 100 * np.sin(xx / 5.0) * np.cos(yy / 7.0), 0, 255).astype(np.uint8)


def test_preprocess_needs_one_mean_and_std_per_channel():
    with pytest.raises(InputError, match=r"channels=1\) needs mean= and std= with 1 value\(s\) each.*got 3 and 3"):
        Preprocess(channels=1)
    with pytest.raises(InputError, match="at least 1"):
        Preprocess(channels=0, mean=(), std=())
    with pytest.raises(InputError, match="must be positive"):
        Preprocess(channels=2, mean=(0.0, 0.0), std=(1.0, 0.0))
    assert Preprocess(channels=4, mean=(0.1,) * 4, std=(0.2,) * 4).channels == 4


def test_a_grey_picture_is_one_channel_the_same_as_file_or_array(tmp_path):
    scan = _scan()
    path = tmp_path / "scan.png"
    Image.fromarray(scan).save(path)  # mode L
    from_file = load_input(path, 1)
    assert from_file.shape == (64, 80, 3) and np.array_equal(from_file[..., 1], scan)  # decoded as the picture
    x, seen, geometry = preprocess_image(from_file, GREY)
    assert x.shape == (1, 1, 64, 64) and geometry.crop_box == (8, 0, 72, 64)
    np.testing.assert_allclose(x[0, 0].numpy(), (scan[:, 8:72] / 255.0 - 0.5) / 0.25, atol=1e-6)
    assert np.array_equal(seen, np.repeat(scan[:, 8:72, None], 3, axis=2))  # what it saw, grey
    as_array = load_input(scan, 1)  # (H, W) uint8: the band as given
    assert as_array.shape == (64, 80, 1)
    assert torch.equal(preprocess_image(as_array, GREY)[0], x)


def test_a_colour_picture_is_turned_grey_by_luma_for_a_one_channel_network():
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    x, seen, _ = preprocess_image(rgb, GREY)
    luma = round(200 * 0.299 + 100 * 0.587 + 50 * 0.114)  # ITU-R 601-2, as Pillow's convert("L")
    assert np.all(seen == luma)
    np.testing.assert_allclose(x.numpy(), (luma / 255.0 - 0.5) / 0.25, atol=1e-6)


def test_bands_keep_their_order_values_and_precision():
    height, width = 40, 40
    levels = np.array([0.1, 0.7, 0.25, 0.9, 0.5], np.float32)
    bands = np.broadcast_to(levels, (height, width, 5)).copy()
    bands[10:20, 10:20, 2] = 0.3337  # not a multiple of 1/255: floats are not rounded to 8 bits
    mean, std = (0.5,) * 5, (0.2,) * 5
    pre = Preprocess(input_size=40, crop_pct=1.0, channels=5, mean=mean, std=std)
    values = load_input(bands, 5)
    x, seen, _ = preprocess_image(values, pre)
    assert x.shape == (1, 5, 40, 40)
    for c, level in enumerate(levels):
        assert np.isclose(float(x[0, c, 0, 0]), (level - 0.5) / 0.2, atol=1e-6)
    assert np.isclose(float(x[0, 2, 15, 15]), (0.3337 - 0.5) / 0.2, atol=1e-6)
    assert seen.shape == (40, 40, 3) and np.all(seen[..., 0] == seen[..., 2])  # the bands' mean, grey
    sixteen = (bands * 65535).round().astype(np.uint16)
    np.testing.assert_allclose(load_input(sixteen, 5), bands, atol=1e-5)  # uint16 ÷ 65535


def test_what_a_band_network_cannot_take_is_said_in_one_sentence(tmp_path):
    picture = tmp_path / "picture.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(picture)
    with pytest.raises(InputError, match=r"takes 4 channels.*given a picture \(RGB\).*\(H, W, 4\)"):
        load_input(picture, 4)
    with pytest.raises(InputError, match=r"takes 4 channels.*array shaped \(8, 8, 5\)"):
        load_input(np.zeros((8, 8, 5), np.float32), 4)
    with pytest.raises(InputError, match="NaN or infinity"):
        load_input(np.full((8, 8, 4), np.nan, np.float32), 4)
    with pytest.raises(InputError, match="uint8, uint16 or floating point"):
        load_input(np.zeros((8, 8, 4), np.int32), 4)
    pre = Preprocess(input_size=8, crop_pct=1.0, channels=4, mean=(0.0,) * 4, std=(1.0,) * 4)
    with pytest.raises(InputError, match=r"takes 4 channel\(s\).*a picture \(RGB\)"):
        preprocess_image(np.zeros((8, 8, 3), np.uint8), pre)  # e.g. the app's picture upload


def test_picture_of_bands():
    assert np.array_equal(picture_of(np.full((2, 2, 1), 7, np.uint8)), np.full((2, 2, 3), 7, np.uint8))
    unit = np.stack([np.zeros((2, 2)), np.ones((2, 2))], -1).astype(np.float32)  # mean 0.5 in [0, 1]
    assert np.all(picture_of(unit) == 128)
    wide = np.array([[[-3.0]], [[5.0]]], np.float32)  # outside [0, 1]: stretched min..max
    assert picture_of(wide)[:, 0, 0].tolist() == [0, 255]


def test_a_one_channel_unet_through_the_pipeline_shows_every_gate_bit_for_bit(tmp_path):
    torch.manual_seed(0)
    net = CbamUNet(in_channels=1)
    scan = _scan()
    path = tmp_path / "scan.png"
    Image.fromarray(scan).save(path)
    result = pipeline.analyse_image(path, model=net, preprocess=GREY)
    assert result.predictions == () and "not class scores" in result.note  # a segmentation map
    assert [b.name for b in result.blocks] == ["att1", "att2", "att3"]
    for block, module in zip(result.blocks, net.attention(), strict=True):
        channel, spatial = module.multiplied
        assert np.array_equal(block.channel_gate, channel[0, :, 0, 0].numpy())
        assert np.array_equal(block.spatial_gate, spatial[0, 0].numpy())
    assert np.array_equal(result.original_image, np.repeat(scan[:, :, None], 3, axis=2))
    drawn = overlay(result, "att3", with_colorbar=False, max_side=None)
    outside = drawn[4:60, 0:6]  # left of the crop: the grey picture dimmed, not tinted
    assert np.array_equal(outside[..., 0], outside[..., 1]) and np.array_equal(outside[..., 1], outside[..., 2])


def test_a_band_network_from_a_numpy_array_and_its_intervention():
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(4, 16, 3, 2, 1), nn.ReLU(), SqueezeExcite(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5)
    )
    rng = np.random.default_rng(0)
    bands = rng.random((48, 48, 4), dtype=np.float32)
    pre = Preprocess(input_size=32, crop_pct=1.0, channels=4, mean=(0.5,) * 4, std=(0.3,) * 4)
    result = pipeline.analyse_image(bands, model=net, preprocess=pre)
    assert result.blocks and result.input_image.shape == (32, 32, 3)
    assert np.array_equal(result.original_image, picture_of(bands))
    with pytest.raises(InputError, match=r"takes 4 channels"):
        pipeline.analyse_image(np.zeros((48, 48, 3), np.uint8), model=net, preprocess=pre)
    changed = pipeline.intervene(bands, result.blocks[0].name, model=net, preprocess=pre)
    assert changed.probabilities_before.shape == changed.probabilities_after.shape == (5,)


def test_a_network_given_the_wrong_channels_is_told_which_preprocess_to_pass():
    net = CbamUNet(in_channels=1)
    with pytest.raises(InputError, match=r"CbamUNet takes 1 input channel\(s\).*Preprocess\(channels=1"):
        pipeline.analyse_image(_scan(), model=net)


def test_a_callable_preprocess_may_return_one_channel():
    torch.manual_seed(2)
    net = CbamUNet(in_channels=1)

    def to_grey(picture: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(picture.mean(axis=2, dtype=np.float32) / 255.0)[None]  # (1, h, w)

    result = pipeline.analyse_image(np.repeat(_scan()[:, :, None], 3, axis=2), model=net, preprocess=to_grey)
    assert len(result.blocks) == 3 and result.input_image.shape == (64, 80, 3)
    with pytest.raises(InputError, match=r"must return a torch.Tensor"):
        pipeline.analyse_image(_scan(), model=CbamUNet(1), preprocess=lambda p: p)


def test_clips_reach_a_grey_network_grey():
    frames = np.stack([np.repeat(_scan()[:, :, None], 3, axis=2)] * 3)
    video = Preprocess(input_size=32, crop_pct=1.0, channels=1, mean=(0.5,), std=(0.25,), frames=3, resize_hw=(40, 50))
    x, crops, _ = preprocess_clip(frames, video)
    assert x.shape == (1, 1, 3, 32, 32) and crops.shape == (3, 32, 32, 3)
    torch.manual_seed(3)
    per_frame = pipeline.analyse_clip(frames, model=CbamUNet(1), preprocess=GREY)
    assert len(per_frame.per_frame) == 3 and all(len(f.blocks) == 3 for f in per_frame.per_frame)
