"""Attention layers compute their papers' formulas, and their taps carry the tensors the network used.

Every expected value is recomputed here from the module's parameters with plain tensor algebra
(``F.linear``, explicit loops), not by calling the module's own sub-layers.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from visualiser.models.layers import (
    CBAM,
    ChannelAttention,
    EfficientChannelAttention,
    SpatialAttention,
    SqueezeExcite,
    Tap,
    eca_kernel_size,
    make_attention,
    reduced_width,
)
from visualiser.models.resnet import ResNetConfig, build_resnet
from visualiser.models.video_resnet import VideoResNetConfig, build_video_resnet


def captured(module: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run ``module`` and return its output and every tap's output by qualified name."""
    taps: dict[str, torch.Tensor] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, name=name: taps.__setitem__(name, out.detach().clone()))
        for name, m in module.named_modules()
        if isinstance(m, Tap)
    ]
    try:
        with torch.no_grad():
            y = module(x)
    finally:
        for h in handles:
            h.remove()
    return y, taps


def randomise(module: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial parameters and BN statistics, eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d | nn.BatchNorm3d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return module.eval()


def bn_eval(bn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    shape = (1, -1) + (1,) * (x.dim() - 2)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return (x - bn.running_mean.view(shape)) * scale.view(shape) + bn.bias.view(shape)


# --- SE -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [2, 3])
def test_se_gate_is_sigmoid_of_two_fcs_on_the_mean(dims: int) -> None:
    se = randomise(SqueezeExcite(32, reduction=4, dims=dims))
    x = torch.randn((2, 32) + (5,) * dims)
    y, taps = captured(se, x)
    w1, b1 = se.fc1.weight.reshape(8, 32), se.fc1.bias
    w2, b2 = se.fc2.weight.reshape(32, 8), se.fc2.bias
    mean = x.flatten(2).sum(-1) / x[0, 0].numel()
    expected_gate = torch.sigmoid(F.linear(torch.relu(F.linear(mean, w1, b1)), w2, b2))  # (2, 32)
    torch.testing.assert_close(taps["squeeze"].flatten(1), mean)
    torch.testing.assert_close(taps["gate"].flatten(1), expected_gate)
    torch.testing.assert_close(y, x * expected_gate.view((2, 32) + (1,) * dims))


def test_se_width_rules() -> None:
    # timm: make_divisible(C/16, 8) → 8 for C=64 (not 4); the authors' C//16 → 4.
    assert reduced_width(64, 16, "divisible8") == 8
    assert reduced_width(64, 16, "floor") == 4
    assert SqueezeExcite(64, width_rule="divisible8").fc1.out_channels == 8
    for c in (256, 512, 1024, 2048):  # bottleneck widths agree under both rules
        assert reduced_width(c, 16, "divisible8") == reduced_width(c, 16, "floor") == c // 16
    assert SqueezeExcite(64, bias=False).fc1.bias is None


def test_taps_add_no_state_dict_keys() -> None:
    cbam = CBAM(64, reduction=16)
    names = [k for k in cbam.state_dict() if not k.endswith("num_batches_tracked")]
    assert sorted(names) == sorted(
        [
            "channel.fc1.weight", "channel.fc1.bias", "channel.fc2.weight", "channel.fc2.bias",
            "spatial.conv.conv.weight", "spatial.conv.bn.weight", "spatial.conv.bn.bias",
            "spatial.conv.bn.running_mean", "spatial.conv.bn.running_var",
        ]
    )  # fmt: skip
    assert sorted(EfficientChannelAttention(256).state_dict()) == ["conv.weight"]


# --- CBAM -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mlp_form", ["linear", "conv"])
def test_cbam_channel_gate_sums_the_mlp_of_mean_and_max(mlp_form: str) -> None:
    cam = randomise(ChannelAttention(32, reduction=4, mlp_form=mlp_form, bias=mlp_form == "linear"))
    x = torch.randn(2, 32, 6, 7)
    y, taps = captured(cam, x)
    w1, w2 = cam.fc1.weight.reshape(8, 32), cam.fc2.weight.reshape(32, 8)
    b1, b2 = cam.fc1.bias, cam.fc2.bias

    def mlp(v: torch.Tensor) -> torch.Tensor:
        return F.linear(torch.relu(F.linear(v, w1, b1)), w2, b2)

    avg, mx = x.mean((2, 3)), x.amax((2, 3))
    torch.testing.assert_close(taps["avg_logits"], mlp(avg))
    torch.testing.assert_close(taps["max_logits"], mlp(mx))
    torch.testing.assert_close(taps["gate"], torch.sigmoid(mlp(avg) + mlp(mx)))
    torch.testing.assert_close(y, x * torch.sigmoid(mlp(avg) + mlp(mx))[:, :, None, None])


def test_cbam_spatial_maps_and_gate() -> None:
    sam = randomise(SpatialAttention(7, order="max_mean"))
    x = torch.randn(2, 16, 9, 11)
    y, taps = captured(sam, x)
    mean, mx = x.mean(1, keepdim=True), x.amax(1, keepdim=True)
    torch.testing.assert_close(taps["mean_map"], mean)
    torch.testing.assert_close(taps["max_map"], mx)
    conv = F.conv2d(torch.cat([mx, mean], 1), sam.conv.conv.weight, padding=3)
    logits = bn_eval(sam.conv.bn, conv)
    torch.testing.assert_close(taps["logits"], logits)
    torch.testing.assert_close(taps["gate"], torch.sigmoid(logits))
    torch.testing.assert_close(y, x * torch.sigmoid(logits))


def test_spatial_order_swap_equals_weight_channel_swap() -> None:
    """(max, mean) with weights W computes what (mean, max) computes with W's input channels swapped."""
    max_mean = randomise(SpatialAttention(7, order="max_mean"))
    mean_max = SpatialAttention(7, order="mean_max")
    state = dict(max_mean.state_dict())
    state["conv.conv.weight"] = state["conv.conv.weight"][:, [1, 0]]
    mean_max.load_state_dict(state)
    mean_max.eval()
    x = torch.randn(2, 8, 10, 10)
    (ya, ta), (yb, tb) = captured(max_mean, x), captured(mean_max, x)
    torch.testing.assert_close(ta["gate"], tb["gate"])
    torch.testing.assert_close(ya, yb)
    # ... and without the swap the two orders really differ
    mean_max.load_state_dict(max_mean.state_dict())
    assert not torch.allclose(captured(mean_max, x)[0], ya)


def test_cbam_is_channel_then_spatial() -> None:
    cbam = randomise(CBAM(16, reduction=4))
    x = torch.randn(1, 16, 8, 8)
    y, taps = captured(cbam, x)
    after_channel = x * taps["channel.gate"][:, :, None, None]
    torch.testing.assert_close(taps["spatial.mean_map"], after_channel.mean(1, keepdim=True))
    torch.testing.assert_close(y, after_channel * taps["spatial.gate"])


# --- ECA ------------------------------------------------------------------------------------


def test_eca_kernel_sizes() -> None:
    assert [eca_kernel_size(c) for c in (256, 512, 1024, 2048)] == [5, 5, 5, 7]
    assert eca_kernel_size(64) == 3 and eca_kernel_size(16) == 3
    assert EfficientChannelAttention(2048).conv.kernel_size == (7,)
    assert EfficientChannelAttention(2048).conv.bias is None


def test_eca_gate_is_a_zero_padded_1d_conv_over_channels() -> None:
    eca = randomise(EfficientChannelAttention(64, kernel_size=5))
    x = torch.randn(2, 64, 4, 4)
    y, taps = captured(eca, x)
    w = eca.conv.weight.view(5)
    mean = x.mean((2, 3))
    padded = F.pad(mean, (2, 2))
    pre = torch.stack([sum(w[j] * padded[:, c + j] for j in range(5)) for c in range(64)], dim=1)
    torch.testing.assert_close(taps["squeeze"], mean)
    torch.testing.assert_close(taps["gate"], torch.sigmoid(pre))
    torch.testing.assert_close(y, x * torch.sigmoid(pre)[:, :, None, None])


# --- 3-D variants and the factory ----------------------------------------------------------


def test_3d_cbam_has_a_thw_spatial_gate() -> None:
    cbam = randomise(CBAM(16, reduction=4, dims=3))
    x = torch.randn(2, 16, 4, 6, 5)
    y, taps = captured(cbam, x)
    assert taps["channel.gate"].shape == (2, 16)
    assert taps["spatial.gate"].shape == (2, 1, 4, 6, 5)
    assert taps["spatial.mean_map"].shape == (2, 1, 4, 6, 5)
    assert cbam.spatial.conv.conv.weight.shape == (1, 2, 7, 7, 7)
    assert y.shape == x.shape
    assert ((taps["spatial.gate"] > 0) & (taps["spatial.gate"] < 1)).all()


def test_make_attention() -> None:
    assert make_attention("none", 64) is None
    assert isinstance(make_attention("se", 64, width_rule="divisible8"), SqueezeExcite)
    assert isinstance(make_attention("cbam", 64, dims=3), CBAM)
    assert isinstance(make_attention("eca", 64), EfficientChannelAttention)
    with pytest.raises(ValueError, match="unknown attention kind"):
        make_attention("bam", 64)  # type: ignore[arg-type]


# --- attention inside the ResNet blocks -----------------------------------------------------


def test_caffe_basic_block_applies_relu_before_se() -> None:
    """Legacy SE-ResNet-18/34: SE sees bn2's output after a ReLU; timm style feeds it the raw BN output."""
    for style, nonnegative in (("caffe", True), ("timm", False)):
        cfg = ResNetConfig(block="basic", layers=(1, 1), widths=(8, 16), stem="small", stem_width=8, style=style,
                           attn="se", attn_options=(("reduction", 4),), num_classes=3)  # fmt: skip
        net = randomise(build_resnet(cfg))
        seen: list[torch.Tensor] = []
        net.layer2[0].se.register_forward_hook(lambda _m, inputs, _o, seen=seen: seen.append(inputs[0]))
        with torch.no_grad():
            net(torch.randn(2, 3, 32, 32))
        assert bool((seen[0] >= 0).all()) is nonnegative


def test_small_stem_resnet_shapes_and_names() -> None:
    cfg = ResNetConfig(block="basic", layers=(1, 1, 1), widths=(16, 32, 64), stem="small", stem_width=16,
                       attn="cbam", attn_options=(("reduction", 4), ("order", "mean_max")), num_classes=5)  # fmt: skip
    net = randomise(build_resnet(cfg))
    x = torch.randn(2, 3, 112, 112)
    assert net.forward_features(x).shape == (2, 64, 14, 14)  # /2 stem, stages at strides 1, 2, 2
    assert net(x).shape == (2, 5)
    assert net.feature_layer_name == "layer3"
    assert {n for n, m in net.named_modules() if isinstance(m, CBAM)} == {"layer1.0.se", "layer2.0.se", "layer3.0.se"}


@pytest.mark.parametrize("conv", ["3d", "2plus1d"])
def test_small_3d_attention_video_net(conv: str) -> None:
    cfg = VideoResNetConfig(conv=conv, layers=(1, 1), widths=(8, 16), stem_width=8, stem_kernel=(3, 5, 5),
                            stem_mid=6, attn="cbam", attn_options=(("reduction", 4),), num_classes=4)  # fmt: skip
    net = randomise(build_video_resnet(cfg))
    assert isinstance(net.stem[0], nn.Conv3d)
    assert "layer2.0.se.spatial.conv.conv.weight" in net.state_dict()
    x = torch.randn(1, 3, 8, 32, 32)
    y, taps = captured(net, x)
    assert y.shape == (1, 4)
    # layer1 keeps (T, H, W) = (8, 16, 16) after the (1, 2, 2) stem; layer2 halves all three
    assert taps["layer1.0.se.spatial.gate"].shape == (1, 1, 8, 16, 16)
    assert taps["layer2.0.se.spatial.gate"].shape == (1, 1, 4, 8, 8)
    assert taps["layer2.0.se.channel.gate"].shape == (1, 16)
