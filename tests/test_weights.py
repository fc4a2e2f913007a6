"""Weights: key remapping, strict loading, reading files, building a model from a download, zoo metadata, labels.

Downloads, the cache and the hub are in ``test_weights_download.py``; installing a file by hand (``fetch
--from``) in ``test_weights_install.py``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.support.weights import WeightsServer, pth_bytes, sha256, tiny_resnet, url_spec
from visualiser.errors import WeightsError
from visualiser.labels import load_labels
from visualiser.models import registry
from visualiser.models.checkpoints import read_checkpoint
from visualiser.models.loading import create_model
from visualiser.models.registry import WeightsSource, list_specs
from visualiser.models.weights import (
    cached_filename,
    fetch_weights,
    load_into,
    remap_state_dict,
    weights_available,
)
from visualiser.pipeline.models import forget_models, get_model


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unreadable_weights_file(tmp_path: Path) -> None:
    for name in ("broken.pth", "broken.safetensors"):
        broken = tmp_path / name
        broken.write_bytes(b"\x80\x04not a pickle, not a safetensors header")
        with pytest.raises(WeightsError, match="cannot be read"):
            read_checkpoint(broken)
    not_a_dict = tmp_path / "list.pth"
    not_a_dict.write_bytes(pth_bytes([torch.zeros(1)]))
    with pytest.raises(WeightsError, match="not a state_dict"):
        read_checkpoint(not_a_dict)
    with pytest.raises(WeightsError, match=r"^my\.pth holds a value of type list"):
        read_checkpoint(not_a_dict, shown="my.pth")


def test_missing_embedded_weights() -> None:
    spec = replace(url_spec("", None), weights=WeightsSource(kind="embedded", location="models/nope.safetensors"))
    assert not weights_available(spec)
    with pytest.raises(WeightsError, match=r"embedded weights .* are missing"):
        fetch_weights(spec)


# --- remapping and strict loading -------------------------------------------------------------


def test_remap_unwraps_and_strips_dataparallel_prefix() -> None:
    t = torch.zeros(1)
    sd = {"epoch": 3, "state_dict": {"module.layer0.conv1.weight": t, "module.layer1.0.se_module.fc1.bias": t}}
    assert set(remap_state_dict(sd, "legacy_senet")) == {"conv1.weight", "layer1.0.se.fc1.bias"}
    mapped = remap_state_dict({"last_linear.weight": t, "layer0.bn1.running_var": t}, "legacy_senet")
    assert set(mapped) == {"fc.weight", "bn1.running_var"}
    with pytest.raises(ValueError, match="unknown key map"):
        remap_state_dict({}, "caffe2")


def test_pytorchcv_units_count_from_one() -> None:
    t = torch.zeros(1)
    keys = {
        "features.stage1.unit1.body.conv2.conv.weight": "layer1.0.conv2.weight",
        "features.stage3.unit6.body.conv3.bn.running_mean": "layer3.5.bn3.running_mean",
        "features.stage2.unit1.identity_conv.bn.weight": "layer2.0.downsample.1.weight",
        "features.stage4.unit3.cbam.sp_gate.conv.bn.bias": "layer4.2.se.spatial.conv.bn.bias",
        "features.stage4.unit3.cbam.ch_gate.mlp.fc2.weight": "layer4.2.se.channel.fc2.weight",
        "features.init_block.conv.conv.weight": "conv1.weight",
        "output.bias": "fc.bias",
    }
    assert set(remap_state_dict(dict.fromkeys(keys, t), "pytorchcv_cbam")) == set(keys.values())
    se = remap_state_dict({"features.stage2.unit4.se.conv1.weight": t}, "pytorchcv_seresnet")
    assert set(se) == {"layer2.3.se.fc1.weight"}


def test_load_into_names_what_does_not_fit() -> None:
    model = tiny_resnet()
    good = model.state_dict()
    missing = {k: v for k, v in good.items() if k != "layer2.0.se.fc1.weight"}
    with pytest.raises(WeightsError, match=r"missing keys: layer2\.0\.se\.fc1\.weight"):
        load_into(tiny_resnet(), missing, "test.pth")
    extra = {**good, "layer9.0.conv1.weight": torch.zeros(1)}
    with pytest.raises(WeightsError, match=r"unexpected keys: layer9\.0\.conv1\.weight"):
        load_into(tiny_resnet(), extra, "test.pth")
    wrong = {**good, "fc.weight": torch.zeros(5, 16)}
    with pytest.raises(WeightsError, match=r"fc\.weight \(5, 16\) vs \(3, 16\)"):
        load_into(tiny_resnet(), wrong, "test.pth")


def test_load_into_tolerates_only_missing_batch_counters() -> None:
    source = tiny_resnet()
    with torch.no_grad():
        for p in source.parameters():
            p.add_(0.01)
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    target = load_into(tiny_resnet(), state, "old checkpoint")
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x))


def to_legacy_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our names → the SENet authors' names, saved from DataParallel like their checkpoints."""
    out = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue  # pre-1.0 checkpoints do not have them
        if key.startswith(("conv1.", "bn1.")):
            key = "layer0." + key
        elif key.startswith("fc."):
            key = "last_linear." + key.removeprefix("fc.")
        out["module." + key.replace(".se.", ".se_module.")] = value
    return out


def test_create_model_downloads_remaps_and_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = tiny_resnet()
    with torch.no_grad():
        for p in reference.parameters():
            p.normal_()
    payload = pth_bytes({"state_dict": to_legacy_layout(reference.state_dict()), "epoch": 7})
    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "tiny_se-0000.pth").write_bytes(payload)
    with WeightsServer(tmp_path / "served") as server:
        spec = replace(
            url_spec(server.url("tiny_se-0000.pth"), f"sha256:{sha256(payload)}", name="tiny_legacy_se",
                     key_map="legacy_senet"),
            builder=tiny_resnet,
        )  # fmt: skip
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
        calls: list[tuple[float, str]] = []
        try:
            loaded = get_model(spec.name, progress=lambda fraction, text: calls.append((fraction, text)))
            again = create_model(spec.name)  # a second use: from the cache
        finally:
            forget_models([spec.name])
    assert server.requests == ["/tiny_se-0000.pth"]
    assert calls[0][0] == 0.0 and calls[-1][0] == 1.0
    assert calls[-1][1].startswith("downloading tiny_legacy_se weights: ")
    x = torch.randn(2, 3, 32, 32)
    for model in (loaded.model, again):
        assert not model.training
        with torch.no_grad():
            torch.testing.assert_close(model(x), reference(x))
    assert not create_model(spec.name, pretrained=False).training


# --- zoo metadata and labels ------------------------------------------------------------------


def test_zoo_sources_are_complete() -> None:
    zoo_specs = [s for s in list_specs() if not s.embedded]
    assert {s.name for s in zoo_specs} >= {
        "seresnet50.a1_in1k", "ecaresnet50d.miil_in1k", "legacy_seresnet50", "legacy_seresnet18",
        "cbam_resnet50", "r3d_18", "r2plus1d_18",
    }  # fmt: skip
    for spec in zoo_specs:
        source = spec.weights
        assert spec.citation and spec.license and spec.description and spec.metrics, spec.name
        assert source.size_mb > 0
        if source.kind == "url":
            algo, _, digest = (source.checksum or "").partition(":")
            assert algo in ("sha1", "sha256") and len(digest) >= 8, spec.name
            name = cached_filename(source)
            assert digest[:8] in name, f"{spec.name}: the file name carries the checksum prefix"
        if spec.task == "clip":
            assert spec.preprocess.frames == 16 and spec.preprocess.resize_hw == (128, 171)
            assert spec.preprocess.input_size == 112 and spec.preprocess.antialias is False
            assert spec.labels == "kinetics400"
        else:
            assert spec.labels == "imagenet1k"
    assert registry.get_spec("seresnet50.a1_in1k").preprocess.crop_pct == 0.95
    assert registry.get_spec("seresnet50.a1_in1k").preprocess.interpolation == "bicubic"


def test_label_files() -> None:
    imagenet = load_labels("imagenet1k")
    assert len(imagenet) == 1000 and len(set(imagenet)) == 1000
    assert imagenet[0] == "tench" and imagenet[999] == "toilet tissue"
    assert imagenet[134] == "crane (bird)" and imagenet[517] == "crane (machine)"
    assert imagenet[639] == "maillot (tank suit)"
    kinetics = load_labels("kinetics400")
    assert len(kinetics) == 400 and len(set(kinetics)) == 400
    assert kinetics[0] == "abseiling" and kinetics[-1] == "zumba"
    assert load_labels("imagenet1k") is imagenet  # cached
    with pytest.raises(ValueError, match="outside assets"):
        load_labels("file:../pyproject.toml")
