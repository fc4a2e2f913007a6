"""The 3D-convolution animation: its numbers against torch, its frames, its files, its errors."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import av
import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional

from visualiser.errors import VisualiserError
from visualiser.pipeline.conv3d import kernel_from_conv3d
from visualiser.render.conv3d import (
    TEACHING_KERNELS,
    Conv3dSpec,
    current_cell,
    frame_at,
    output_shape,
    parameter_counts,
    parameter_text,
    plan_animation,
    prepare_grid,
    render_gif,
    render_mp4,
    shape_formula_text,
    step_terms,
    teaching_kernel,
)
from visualiser.render.conv3d.plan import filled_count


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """These small convolutions are compared with torch's at 1e-5; one thread keeps its summation order fixed."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def torch_conv(grid: np.ndarray, spec: Conv3dSpec) -> np.ndarray:
    """Reference output (K, T_out, H_out, W_out) from torch."""
    bias = None if spec.bias is None else torch.from_numpy(spec.bias)
    out = functional.conv3d(
        torch.from_numpy(grid)[None],  # (1, C, T, H, W)
        torch.from_numpy(spec.weight),
        bias,
        stride=spec.stride,
        padding=spec.padding,
        dilation=spec.dilation,
    )
    return out[0].numpy()


def random_grid(channels: int = 3, dims: tuple[int, int, int] = (8, 16, 16), seed: int = 0) -> np.ndarray:
    """A normalised-looking (C, T, H, W) grid."""
    return np.random.default_rng(seed).normal(size=(channels, *dims)).astype(np.float32)


def moving_bar_clip(direction: int = 1, frames: int = 8, size: int = 64) -> np.ndarray:
    """A bright vertical bar moving by one grid cell (size/16 px) per frame: (T, H, W, 3) uint8."""
    clip = np.full((frames, size, size, 3), 20, np.uint8)
    cell = size // 16
    for t in range(frames):
        left = (4 + direction * t) * cell if direction > 0 else (11 + direction * t) * cell
        clip[t, :, left : left + cell] = 230
    return clip


LAYERS = [
    pytest.param({"kernel_size": 3}, id="3x3x3"),
    pytest.param({"kernel_size": 3, "stride": 2}, id="stride2"),
    pytest.param({"kernel_size": 3, "padding": 1}, id="padding1"),
    pytest.param({"kernel_size": 3, "dilation": 2}, id="dilation2"),
    pytest.param(
        {"kernel_size": (2, 3, 5), "stride": (1, 2, 3), "padding": (1, 0, 2), "dilation": (2, 1, 1)}, id="mixed"
    ),
    pytest.param(
        {"kernel_size": (3, 7, 7), "stride": (1, 2, 2), "padding": (1, 3, 3), "out_channels": 4}, id="stem-K4"
    ),
    pytest.param({"kernel_size": 3, "bias": False, "out_channels": 2}, id="no-bias"),
]


@pytest.mark.parametrize("layer", LAYERS)
def test_plan_output_matches_torch_conv3d(layer: dict) -> None:
    settings = {"out_channels": 1, **layer}
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(3, **settings)
    spec = kernel_from_conv3d(conv, source="test")
    grid = random_grid()
    expected = torch_conv(grid, spec)
    for k in range(spec.out_channels):
        plan = plan_animation(grid, spec, out_channel=k)
        assert plan.output.shape == expected[k].shape
        np.testing.assert_allclose(plan.output, expected[k], rtol=1e-5, atol=1e-5)


def test_plan_from_clip_uses_prepared_grid() -> None:
    clip = moving_bar_clip()
    spec = teaching_kernel("motion")
    plan = plan_animation(clip, spec, cells=(6, 16, 16))
    np.testing.assert_array_equal(plan.grid, prepare_grid(clip, (6, 16, 16)))
    np.testing.assert_allclose(plan.output, torch_conv(plan.grid, spec)[0], rtol=1e-5, atol=1e-5)


def test_step_terms_add_up_and_match_torch_per_channel() -> None:
    torch.manual_seed(1)
    conv = torch.nn.Conv3d(3, 2, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2))
    spec = kernel_from_conv3d(conv)
    grid = random_grid(seed=3)
    plan = plan_animation(grid, spec, out_channel=1, max_steps=50)
    full = torch_conv(grid, spec)[1]
    # each channel's partial sum is that channel's kernel alone on that channel alone, without bias
    per_channel = [
        torch_conv(grid[c : c + 1], dataclasses.replace(spec, weight=spec.weight[:, c : c + 1], bias=None))[1]
        for c in range(3)
    ]
    for step in (0, 1, 17, plan.steps - 1):
        terms = step_terms(plan, step)
        assert terms.index == current_cell(plan, step)
        assert sum(terms.partials) + terms.bias == pytest.approx(terms.total, abs=1e-5)
        assert terms.total == pytest.approx(float(full[terms.index]), abs=1e-5)
        assert terms.bias == pytest.approx(float(conv.bias.detach()[1]))
        for c in range(3):
            assert terms.partials[c] == pytest.approx(float(per_channel[c][terms.index]), abs=1e-5)
        assert terms.window_start == tuple(i * s for i, s in zip(terms.index, spec.stride, strict=True))


def test_2d_side_is_the_time_summed_kernel_frame_by_frame() -> None:
    torch.manual_seed(2)
    conv = torch.nn.Conv3d(3, 1, 3, padding=(1, 1, 1), stride=(1, 2, 1))
    grid = random_grid(seed=4)
    plan = plan_animation(grid, kernel_from_conv3d(conv), mode="2d_vs_3d")
    weight_2d = conv.weight.detach().sum(dim=2)  # (K, C, kh, kw)
    frames = torch.from_numpy(grid).permute(1, 0, 2, 3)  # (T, C, H, W): each frame a batch item
    expected = functional.conv2d(frames, weight_2d, conv.bias.detach(), stride=(2, 1), padding=1)
    expected = expected[:, 0]  # (T, H_out, W_out)
    _, output_2d, _ = plan.side("2d")
    np.testing.assert_allclose(output_2d, expected.numpy(), rtol=1e-5, atol=1e-5)
    terms = step_terms(plan, plan.steps // 2, side="2d")
    assert sum(terms.partials) + terms.bias == pytest.approx(float(expected[terms.index]), abs=1e-5)


def test_output_shape_matches_torch_for_random_layers() -> None:
    rng = np.random.default_rng(7)
    checked = refused = 0
    for _ in range(150):
        dims = tuple(int(v) for v in rng.integers(1, 12, size=3))
        kernel = tuple(int(v) for v in rng.integers(1, 5, size=3))
        stride = tuple(int(v) for v in rng.integers(1, 4, size=3))
        padding = tuple(int(v) for v in rng.integers(0, 3, size=3))
        dilation = tuple(int(v) for v in rng.integers(1, 3, size=3))
        spec = Conv3dSpec(np.ones((1, 1, *kernel), np.float32), None, stride, padding, dilation)
        x = torch.zeros((1, 1, *dims))
        try:
            reference = functional.conv3d(x, torch.ones((1, 1, *kernel)), None, stride, padding, dilation)
        except RuntimeError:
            with pytest.raises(VisualiserError, match="kernel spans"):
                output_shape(dims, spec)
            refused += 1
            continue
        expected = tuple(reference.shape[2:])
        assert output_shape(dims, spec) == expected
        assert shape_formula_text(dims, spec).splitlines()[-1].endswith(f"= {expected[2]}")
        checked += 1
    assert checked > 50
    assert refused > 5


def test_shape_formula_text_spells_out_the_formula() -> None:
    spec = teaching_kernel("blur")
    assert shape_formula_text((8, 16, 16), spec).splitlines()[0] == "T_out = ⌊(8 + 2·0 − 1·(3−1) − 1)/1⌋ + 1 = 6"


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 1, (3, 3, 3)), (3, 64, (3, 7, 7)), (5, 2, (2, 3, 1))])
def test_parameter_counts_match_torch(shape: tuple, bias: bool) -> None:
    c_in, k_out, (kt, kh, kw) = shape
    conv3d = torch.nn.Conv3d(c_in, k_out, (kt, kh, kw), bias=bias)
    conv2d = torch.nn.Conv2d(c_in, k_out, (kh, kw), bias=bias)
    counts = parameter_counts(kernel_from_conv3d(conv3d))
    n3 = sum(p.numel() for p in conv3d.parameters())
    n2 = sum(p.numel() for p in conv2d.parameters())
    assert counts["conv3d_total"] == n3
    assert counts["conv2d_total"] == n2
    assert counts["ratio"] == pytest.approx(n3 / n2)


def test_parameter_text_for_the_teaching_kernel() -> None:
    line3, line2 = parameter_text(teaching_kernel("edge"))
    assert line3 == "3D: 3·3·3·3·1 + 1 = 82 params"
    assert line2 == "2D: 3·3·3·1 + 1 = 28 params"


def test_teaching_kernels_do_what_their_names_say() -> None:
    assert set(TEACHING_KERNELS) == {"temporal_difference", "blur", "edge", "motion"}
    still = np.repeat(moving_bar_clip()[:1], 8, axis=0)  # the first frame, never moving
    still_grid = prepare_grid(still)
    # nothing changes in time: the temporal difference is zero everywhere
    assert np.abs(plan_animation(still_grid, teaching_kernel("temporal_difference")).output).max() < 1e-6
    # blur of a constant grid is that constant (weights sum to 1)
    constant = np.full((3, 6, 10, 10), 0.7, np.float32)
    np.testing.assert_allclose(plan_animation(constant, teaching_kernel("blur")).output, 0.7, atol=1e-6)
    # a vertical bar: the horizontal gradient is positive on its left edge, negative on its right, zero elsewhere
    edge = plan_animation(still_grid, teaching_kernel("edge")).output[0]  # (H_out, W_out) of the first slice
    assert edge.max() > 0.3
    assert edge.min() < -0.3
    assert np.isclose(edge[:, -1], 0, atol=1e-6).all()
    # motion: rightward movement drives the oriented kernel harder than leftward movement
    right = plan_animation(moving_bar_clip(+1), teaching_kernel("motion")).output
    left = plan_animation(moving_bar_clip(-1), teaching_kernel("motion")).output
    assert right.max() > 1.5 * left.max()
    # and the clips are mirror images, so the responses are mirrored and sign-flipped
    np.testing.assert_allclose(left, -right[..., ::-1], atol=1e-6)
    for name in TEACHING_KERNELS:
        spec = teaching_kernel(name, in_channels=2, size=(3, 5, 5))
        assert spec.weight.shape == (1, 2, 3, 5, 5)
        assert spec.source == f"teaching:{name}"


def test_kernel_from_conv3d_reads_the_layer() -> None:
    conv = torch.nn.Conv3d(3, 8, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2), dilation=(2, 1, 1))
    spec = kernel_from_conv3d(conv, source="stem")
    assert spec.stride == (1, 2, 2)
    assert spec.padding == (1, 2, 2)
    assert spec.dilation == (2, 1, 1)
    np.testing.assert_array_equal(spec.weight, conv.weight.detach().numpy())
    np.testing.assert_array_equal(spec.bias, conv.bias.detach().numpy())
    same = kernel_from_conv3d(torch.nn.Conv3d(3, 1, (3, 5, 1), padding="same"))
    assert same.padding == (1, 2, 0)
    with pytest.raises(VisualiserError, match="Conv3d"):
        kernel_from_conv3d(torch.nn.Conv2d(3, 8, 3))


def test_prepare_grid_is_an_exact_area_average() -> None:
    rng = np.random.default_rng(5)
    clip = rng.integers(0, 256, size=(20, 64, 96, 3), dtype=np.uint8)
    grid = prepare_grid(clip, (8, 16, 16))
    assert grid.shape == (3, 8, 16, 16)
    assert grid.dtype == np.float32
    picks = np.round(np.linspace(0, 19, 8)).astype(int)
    assert picks[0] == 0
    assert picks[-1] == 19
    frames = torch.from_numpy(clip[picks]).permute(0, 3, 1, 2).float() / 255  # (T', 3, H, W)
    expected = functional.adaptive_avg_pool2d(frames, (16, 16)).permute(1, 0, 2, 3)  # divisible sizes: exact bins
    np.testing.assert_allclose(grid, expected.numpy(), atol=1e-5)
    # non-divisible sizes: fractional cells still conserve the mean of every frame
    odd = prepare_grid(clip[:3, :50, :70], (3, 16, 16))
    np.testing.assert_allclose(odd.mean(axis=(2, 3)), clip[:3, :50, :70].mean(axis=(1, 2)).T / 255, atol=1e-5)
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    normalised = prepare_grid(clip, (8, 16, 16), mean, std)
    expected_norm = (grid - np.reshape(mean, (3, 1, 1, 1))) / np.reshape(std, (3, 1, 1, 1))
    np.testing.assert_allclose(normalised, expected_norm, atol=1e-5)
    assert prepare_grid(clip[:2], (8, 16, 16)).shape[1] == 2  # short clips are not stretched in time


def test_steps_cover_every_cell_when_sampled() -> None:
    plan = plan_animation(random_grid(), teaching_kernel("blur"), max_steps=40)  # 6·14·14 = 1176 cells
    assert plan.steps == 40
    assert filled_count(plan.output.size, plan.steps, plan.steps - 1) == plan.output.size
    flat = [np.ravel_multi_index(current_cell(plan, s), plan.output.shape) for s in range(plan.steps)]
    assert flat[-1] == plan.output.size - 1
    assert all(b > a for a, b in itertools.pairwise(flat))
    small = plan_animation(random_grid(dims=(3, 4, 5)), teaching_kernel("blur"))
    assert small.steps == small.output.size == 1 * 2 * 3


def reddish_pixels(frame: np.ndarray) -> int:
    """Strongly red pixels in the output area (right of the cubes, above the colorbar)."""
    height, width = frame.shape[:2]
    region = frame[: int(0.58 * height), int(0.66 * width) :].astype(int)
    return int(((region[..., 0] > 80) & (region[..., 1] < 60) & (region[..., 2] < 80)).sum())


def test_frames_show_the_kernel_moving_and_the_output_filling() -> None:
    clip = np.full((8, 32, 32, 3), 200, np.uint8)  # bright and flat: every blurred cell is strongly positive
    plan = plan_animation(clip, teaching_kernel("blur"), max_steps=30)
    frames = [frame_at(plan, s) for s in (0, 1, plan.steps // 2, plan.steps - 1)]
    for frame in frames:
        assert frame.shape == (360, 640, 3)
        assert frame.dtype == np.uint8
    left_third = slice(0, 640 // 3)
    assert not np.array_equal(frames[0][:, left_third], frames[1][:, left_third])  # the kernel box moved
    counts = [reddish_pixels(f) for f in frames]
    assert counts[0] < counts[1] < counts[2] < counts[3]
    assert frame_at(plan, 3, size=(800, 450)).shape == (450, 800, 3)
    assert np.array_equal(frame_at(plan, 5), frame_at(plan, 5))  # random access is deterministic


def test_compare_mode_frames() -> None:
    plan = plan_animation(moving_bar_clip(), teaching_kernel("motion"), mode="2d_vs_3d", max_steps=20)
    a, b = frame_at(plan, 0), frame_at(plan, 10)
    assert a.shape == (360, 640, 3)
    assert not np.array_equal(a[:, :320], b[:, :320])
    assert not np.array_equal(a[:, 320:], b[:, 320:])


def test_mp4_and_gif_decode_to_every_step(tmp_path) -> None:
    plan = plan_animation(moving_bar_clip(), teaching_kernel("temporal_difference"), max_steps=14)
    mp4 = render_mp4(plan, tmp_path / "conv.mp4", fps=12)
    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    assert len(decoded) == plan.steps
    assert all(f.shape == (360, 640, 3) for f in decoded)
    # lossy, but still the frame we drew
    assert np.abs(decoded[5].astype(int) - frame_at(plan, 5).astype(int)).mean() < 6
    resized = render_mp4(plan, tmp_path / "small.mp4", size=(480, 270))
    with av.open(str(resized)) as container:
        assert [(f.width, f.height) for f in container.decode(video=0)] == [(480, 270)] * plan.steps
    gif = render_gif(plan, tmp_path / "conv.gif", fps=8)
    with Image.open(gif) as image:
        assert image.n_frames == plan.steps
        assert image.size == (640, 360)
        assert image.info.get("loop") == 0


def test_invalid_configurations_are_refused_clearly(tmp_path) -> None:
    grid = random_grid(dims=(2, 8, 8))
    with pytest.raises(VisualiserError, match="spans 3 cells along T"):
        plan_animation(grid, teaching_kernel("blur"))  # kt = 3 > T = 2 without padding
    with pytest.raises(VisualiserError, match="stride"):
        dataclasses.replace(teaching_kernel("blur"), stride=(0, 1, 1))
    with pytest.raises(VisualiserError, match="stride"):
        Conv3dSpec(np.ones((1, 3, 1, 1, 1)), None, stride=(-1, 1, 1))
    with pytest.raises(VisualiserError, match="out_channel"):
        plan_animation(random_grid(), teaching_kernel("blur"), out_channel=1)
    with pytest.raises(VisualiserError, match="out_channel"):
        plan_animation(random_grid(), teaching_kernel("blur"), out_channel=-1)
    with pytest.raises(VisualiserError, match="input channels"):
        plan_animation(random_grid(channels=1), teaching_kernel("blur"))
    with pytest.raises(VisualiserError, match="Unknown teaching kernel"):
        teaching_kernel("sharpen")
    with pytest.raises(VisualiserError, match="at least 2 taps"):
        teaching_kernel("temporal_difference", size=(1, 3, 3))
    with pytest.raises(VisualiserError, match="Grouped"):
        kernel_from_conv3d(torch.nn.Conv3d(4, 4, 3, groups=2))
    with pytest.raises(VisualiserError, match=r"\(K, C, kt, kh, kw\)"):
        Conv3dSpec(np.ones((3, 3, 3)), None)
    plan = plan_animation(random_grid(), teaching_kernel("blur"), max_steps=5)
    with pytest.raises(VisualiserError, match="step"):
        frame_at(plan, 5)
    with pytest.raises(VisualiserError, match="even"):
        render_mp4(plan, tmp_path / "odd.mp4", size=(641, 360))
