"""Architecture inference: every registry family round-trips (our model → its layout's keys → the same config).

Models are built on the meta device: inference and the fit check read only keys and shapes, so a ResNet-50
costs milliseconds here. The layout renamers in ``tests/support/checkpoint_layouts.py`` are first checked
against the publishers' own key lists, so a round trip through them is a round trip through the real layout.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.support.checkpoint_layouts import to_layout
from visualiser.errors import WeightsError
from visualiser.models import embedded, zoo
from visualiser.models.architecture import infer_architecture
from visualiser.models.configs import ResNetConfig, VideoResNetConfig
from visualiser.models.infer import canonical_config
from visualiser.models.registry import get_spec
from visualiser.models.resnet import build_resnet
from visualiser.models.uploads import build_and_load, fit_checkpoint
from visualiser.models.video_resnet import build_video_resnet

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
TIMM_CBAM = (("reduction", 16), ("mlp_form", "conv"), ("bias", False), ("spatial_kernel", 7), ("order", "mean_max"))


def meta_state(config: ResNetConfig | VideoResNetConfig) -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        model = build_video_resnet(config) if isinstance(config, VideoResNetConfig) else build_resnet(config)
    return model.state_dict()


def zoo_config(name: str) -> ResNetConfig | VideoResNetConfig:
    with torch.device("meta"):
        return get_spec(name).builder().cfg


# (fixture, our model, layout the fixture is in)
PUBLISHED = [
    ("timm_seresnet50.a1_in1k", "seresnet50.a1_in1k", "timm"),
    ("timm_ecaresnet50d.miil_in1k", "ecaresnet50d.miil_in1k", "timm"),
    ("timm_legacy_seresnet50.in1k", "legacy_seresnet50", "legacy_senet"),
    ("timm_legacy_seresnet18.in1k", "legacy_seresnet18", "legacy_senet"),
    ("pytorchcv_cbam_resnet50", "cbam_resnet50", "pytorchcv"),
    ("pytorchcv_seresnet50", "pytorchcv:seresnet50", "pytorchcv"),
    ("torchvision_r3d_18", "r3d_18", "torchvision_video"),
    ("torchvision_r2plus1d_18", "r2plus1d_18", "torchvision_video"),
]


def published_config(name: str) -> ResNetConfig | VideoResNetConfig:
    if name == "pytorchcv:seresnet50":  # parity-tested but not registered
        with torch.device("meta"):
            return zoo.seresnet50_pytorchcv().cfg
    return zoo_config(name)


@pytest.mark.parametrize(("fixture", "name", "layout"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_layout_renamer_gives_the_publishers_key_list(fixture: str, name: str, layout: str) -> None:
    reference = json.loads((FIXTURES / f"{fixture}.json").read_text())["keys"]
    ours = to_layout(meta_state(published_config(name)), layout)
    assert {k: list(v.shape) for k, v in ours.items()} == {k: s for k, s in reference}


@pytest.mark.parametrize(("fixture", "name", "layout"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_key_lists_give_the_registered_config(fixture: str, name: str, layout: str) -> None:
    """The publisher's own key list (not our renamer's) is inferred as the architecture we register for it."""
    reference = json.loads((FIXTURES / f"{fixture}.json").read_text())["keys"]
    state = {k: torch.empty(s, device="meta") for k, s in reference}
    inference = infer_architecture(state, fixture)
    assert inference.config == canonical_config(published_config(name))
    assert inference.layout.name == layout


FAMILIES: dict[str, tuple[ResNetConfig | VideoResNetConfig, str, str]] = {
    # id: (config, layout, expected family name)
    "timm-seresnet50": (zoo_config("seresnet50.a1_in1k"), "timm", "SE-ResNet-50"),
    "timm-ecaresnet50d": (zoo_config("ecaresnet50d.miil_in1k"), "timm", "ECA-ResNet-50-D"),
    "timm-cbam-resnet50": (ResNetConfig(attn="cbam", attn_options=TIMM_CBAM), "timm", "CBAM-ResNet-50"),
    "timm-seresnet18": (
        ResNetConfig(block="basic", layers=(2, 2, 2, 2), attn="se", attn_options=zoo.SE_TIMM),
        "timm",
        "SE-ResNet-18",
    ),
    "torchvision-resnet34": (ResNetConfig(block="basic", layers=(3, 4, 6, 3)), "torchvision", "ResNet-34"),
    "torchvision-resnet50": (ResNetConfig(), "torchvision", "ResNet-50"),
    "legacy-seresnet50": (zoo_config("legacy_seresnet50"), "legacy_senet", "SE-ResNet-50"),
    "legacy-seresnet18": (zoo_config("legacy_seresnet18"), "legacy_senet", "SE-ResNet-18"),
    "legacy-seresnet101": (
        ResNetConfig(layers=(3, 4, 23, 3), style="caffe", attn="se", attn_options=zoo.SE_FLOOR),
        "legacy_senet",
        "SE-ResNet-101",
    ),
    "pytorchcv-cbam-resnet50": (zoo_config("cbam_resnet50"), "pytorchcv", "CBAM-ResNet-50"),
    "pytorchcv-seresnet50": (published_config("pytorchcv:seresnet50"), "pytorchcv", "SE-ResNet-50"),
    "pytorchcv-seresnet18": (
        ResNetConfig(block="basic", layers=(2, 2, 2, 2), attn="se", attn_options=zoo.SE_FLOOR),
        "pytorchcv",
        "SE-ResNet-18",
    ),
    "official-cbam-resnet50": (zoo_config("cbam_resnet50"), "official_cbam", "CBAM-ResNet-50"),
    "official-cbam-resnet18": (
        ResNetConfig(block="basic", layers=(2, 2, 2, 2), attn="cbam", attn_options=zoo.CBAM_PYTORCHCV),
        "official_cbam",
        "CBAM-ResNet-18",
    ),
    "torchvision-r3d18": (zoo_config("r3d_18"), "torchvision_video", "R3D-18"),
    "torchvision-r2plus1d18": (zoo_config("r2plus1d_18"), "torchvision_video", "R(2+1)D-18"),
    "video-cbam-r3d10": (
        VideoResNetConfig(
            layers=(1, 1, 1, 1),
            widths=(16, 32, 64, 128),
            stem_width=16,
            stem_kernel=(3, 5, 5),
            attn="cbam",
            attn_options=embedded.CBAM_OPTIONS,
        ),
        "torchvision_video",
        "CBAM-R3D-10",
    ),
    "cbam-hidden-width-1": (  # C=8 at reduction 16 keeps one hidden unit: the ratio is not bounded by C
        ResNetConfig(block="basic", layers=(1, 1, 1, 1), widths=(8, 16, 32, 64), stem_width=8, attn="cbam"),
        "visualiser",
        "CBAM-ResNet-10",
    ),
    "embedded-shapes-plain": (embedded.SHAPES_CONFIGS["shapes_plain"], "visualiser", "ResNet-10"),
    "embedded-shapes-se": (embedded.SHAPES_CONFIGS["shapes_se"], "visualiser", "SE-ResNet-10"),
    "embedded-shapes-cbam": (embedded.SHAPES_CONFIGS["shapes_cbam"], "visualiser", "CBAM-ResNet-10"),
}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("classes", [5, 1000])
def test_each_family_round_trips(family: str, classes: int) -> None:
    config, layout, expected_family = FAMILIES[family]
    config = replace(config, num_classes=classes)
    renamer = "timm" if layout in ("visualiser", "torchvision") else layout
    state = to_layout(meta_state(config), renamer)
    inference = infer_architecture(state, f"{family}.pth")
    assert inference.config == canonical_config(config)
    assert inference.layout.name == layout
    assert inference.family == expected_family
    assert f"{classes} classes" in inference.read[-1]
    assert inference.assumed  # what the keys could not say is stated
    with torch.device("meta"):
        probe = (
            build_resnet(inference.config) if isinstance(config, ResNetConfig) else build_video_resnet(inference.config)
        )
    fit_checkpoint(probe, inference, state, family)  # strict: every key and shape of the checkpoint fits


def test_conventions_stated_follow_the_layout() -> None:
    legacy = infer_architecture(to_layout(meta_state(zoo_config("legacy_seresnet18")), "legacy_senet"), "x")
    assert any("ReLU after bn2, before SE" in note for note in legacy.assumed)
    assert not any("bottleneck" in note for note in legacy.assumed)
    timm_cbam = infer_architecture(meta_state(ResNetConfig(attn="cbam", attn_options=TIMM_CBAM)), "x")
    assert dict(timm_cbam.config.attn_options)["order"] == "mean_max"
    assert any("(mean, max)" in note for note in timm_cbam.assumed)
    pytorchcv = infer_architecture(to_layout(meta_state(zoo_config("cbam_resnet50")), "pytorchcv"), "x")
    assert any("(max, mean)" in note for note in pytorchcv.assumed)
    assert any("3x3 conv" in note for note in pytorchcv.assumed)


def test_width_rule_is_read_where_it_matters() -> None:
    """C=64 gives 8 hidden units under timm's rounding and 4 under C // 16: the keys tell them apart."""
    timm18 = ResNetConfig(block="basic", layers=(2, 2, 2, 2), attn="se", attn_options=zoo.SE_TIMM)
    floor18 = replace(timm18, attn_options=zoo.SE_FLOOR)
    assert dict(infer_architecture(meta_state(timm18), "x").config.attn_options)["width_rule"] == "divisible8"
    assert dict(infer_architecture(meta_state(floor18), "x").config.attn_options)["width_rule"] == "floor"


def test_fixed_eca_kernel_and_other_input_channels_are_read() -> None:
    config = ResNetConfig(block="basic", layers=(1, 1, 1, 1), attn="eca", attn_options=(("kernel_size", 3),),
                          in_chans=1, num_classes=7)  # fmt: skip
    inferred = infer_architecture(meta_state(config), "x").config
    assert inferred == canonical_config(config)
    assert inferred.in_chans == 1


def _misfit(state: dict[str, torch.Tensor]) -> str:
    with pytest.raises(WeightsError) as caught:
        inference = infer_architecture(state, "my.pth")
        build_and_load(inference, state, "my.pth")
    return str(caught.value)


def test_resnext_grouped_convs_are_named() -> None:
    state = meta_state(zoo_config("seresnet50.a1_in1k"))
    for key in [k for k in state if k.endswith("conv2.weight")]:
        out, cin, kh, kw = state[key].shape
        state[key] = torch.empty(out, cin // 32, kh, kw, device="meta")
    message = _misfit(state)
    assert "layer1.0.conv2.weight" in message and "grouped" in message


def test_wide_resnet_is_named() -> None:
    state = meta_state(ResNetConfig())
    state["layer1.0.conv1.weight"] = torch.empty(128, 64, 1, 1, device="meta")
    assert "layer1.0.conv3.weight" in _misfit(state)


def test_a_single_wrong_shape_names_the_closest_family_and_the_key() -> None:
    state = to_layout(meta_state(zoo_config("legacy_seresnet50")), "legacy_senet")
    state["layer3.1.se_module.fc1.weight"] = torch.empty(32, 1024, 1, 1, device="meta")
    state["layer3.1.se_module.fc1.bias"] = torch.empty(32, device="meta")
    message = _misfit(state)
    assert "SE hidden widths" in message and "layer3.1 maps 1024 → 32" in message  # every other block is C // 16


def test_an_extra_key_is_named_in_the_checkpoints_own_layout() -> None:
    state = to_layout(meta_state(zoo_config("legacy_seresnet50")), "legacy_senet")
    state["layer2.0.se_module.extra.weight"] = torch.empty(3, device="meta")
    message = _misfit(state)
    assert "closest to SE-ResNet-50 (SENet authors' layout)" in message
    assert "layer2.0.se_module.extra.weight" in message


def test_a_missing_block_key_is_named() -> None:
    state = meta_state(zoo_config("seresnet50.a1_in1k"))
    del state["layer4.2.bn2.running_var"]
    message = _misfit(state)
    assert "missing" in message and "layer4.2.bn2.running_var" in message


def test_attention_in_some_blocks_only_is_named() -> None:
    state = meta_state(zoo_config("seresnet50.a1_in1k"))
    for key in [k for k in state if k.startswith("layer2.1.se.")]:
        del state[key]
    assert "layer2.1 lacks the attention module" in _misfit(state)


def test_tiered_stem_is_named() -> None:
    state = meta_state(zoo_config("ecaresnet50d.miil_in1k"))
    state["conv1.0.weight"] = torch.empty(24, 3, 3, 3, device="meta")
    assert "deep stem widths 24, 32, 64" in _misfit(state)


def test_unrelated_nets_are_refused_naming_their_keys() -> None:
    mlp = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)).state_dict()
    message = _misfit(mlp)
    assert "does not look like any ResNet layout" in message
    assert "0.weight (64, 784)" in message and "conv1.weight" in message
    vgg = torch.nn.Module()
    vgg.features = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3))
    vgg.classifier = torch.nn.Linear(8, 10)
    message = _misfit(vgg.state_dict())
    assert "features.0.weight (8, 3, 3, 3)" in message and "6 tensors" in message
