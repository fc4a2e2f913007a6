"""A user's checkpoint → a registered model: same logits as building the config directly, CLI, names, labels.

Small networks (a few hundred kB) keep these fast; ``test_checkpoint_resnet50.py`` does the same for
fine-tuned ResNet-50s written from the publishers' key lists (slow).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tests.support.checkpoint_layouts import to_layout
from visualiser import pipeline
from visualiser.cli import main
from visualiser.errors import InputError, ModelNotFoundError, VisualiserError, WeightsError
from visualiser.media import load_image
from visualiser.models import embedded, uploads, zoo
from visualiser.models.configs import ResNetConfig
from visualiser.models.deterministic import with_seeded_weights
from visualiser.models.infer import canonical_config
from visualiser.models.layouts import TIMM_PREPROCESS
from visualiser.models.registry import get_spec
from visualiser.models.resnet import build_resnet
from visualiser.models.uploads import checkpoint_info, register_checkpoint, unregister_checkpoint, uploaded_names
from visualiser.models.video_resnet import build_video_resnet
from visualiser.preprocess import preprocess_image

SMALL = dict(block="basic", layers=(1, 1, 1, 1), widths=(16, 32, 64, 128), stem_width=16, num_classes=5)
SMALL_SE = ResNetConfig(**SMALL, attn="se", attn_options=zoo.SE_TIMM)  # type: ignore[arg-type]
SMALL_CAFFE = ResNetConfig(**SMALL, style="caffe", attn="se", attn_options=(("reduction", 4),))  # type: ignore[arg-type]
SMALL_CBAM = ResNetConfig(**SMALL, attn="cbam", attn_options=zoo.CBAM_PYTORCHCV)  # type: ignore[arg-type]
NAMES = ("cat", "dog", "heron", "otter", "wren")


@pytest.fixture(autouse=True)
def forget_uploads():
    yield
    for name in uploaded_names():
        pipeline.forget_models([name])
        unregister_checkpoint(name)


def seeded(config: ResNetConfig) -> torch.nn.Module:
    return with_seeded_weights(build_resnet(config))


def logits(model: torch.nn.Module, seed: int = 0) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(seed)))


def registered_module(name: str) -> torch.nn.Module:
    return get_spec(name).builder()


def test_timm_layout_safetensors_gives_the_same_logits(tmp_path: Path) -> None:
    direct = seeded(SMALL_SE)
    save_file(direct.state_dict(), tmp_path / "mine.safetensors")
    name = register_checkpoint(tmp_path / "mine.safetensors")
    sha = hashlib.sha256((tmp_path / "mine.safetensors").read_bytes()).hexdigest()
    assert name == f"upload:mine-{sha[:8]}"
    spec = get_spec(name)
    assert spec.title == "SE-ResNet-10 (timm layout, 5 classes, from mine.safetensors)"
    assert spec.preprocess == TIMM_PREPROCESS and spec.task == "image" and spec.attention == "se"
    torch.testing.assert_close(logits(registered_module(name)), logits(direct), rtol=0, atol=0)
    assert checkpoint_info(name).inference.config == canonical_config(SMALL_SE)


def test_legacy_layout_pth_gives_the_same_logits_and_the_convention_matters(tmp_path: Path) -> None:
    direct = seeded(SMALL_CAFFE)
    legacy = to_layout(direct.state_dict(), "legacy_senet")
    torch.save({"epoch": 9, "state_dict": {f"module.{k}": v for k, v in legacy.items()}}, tmp_path / "se.pth")
    name = register_checkpoint(tmp_path / "se.pth")
    assert "SENet authors' layout" in get_spec(name).title
    torch.testing.assert_close(logits(registered_module(name)), logits(direct), rtol=0, atol=0)
    # The same tensors in a timm-style network (stride placement, max-pool, ReLU before SE) compute otherwise.
    timm_style = build_resnet(replace(SMALL_CAFFE, style="timm"))
    timm_style.load_state_dict(direct.state_dict())
    assert (logits(timm_style.eval()) - logits(direct)).abs().max() > 1e-2


def test_official_cbam_checkpoint_gives_the_same_logits(tmp_path: Path) -> None:
    direct = seeded(SMALL_CBAM)
    official = {f"module.{k}": v for k, v in to_layout(direct.state_dict(), "official_cbam").items()}
    torch.save({"arch": "resnet18", "state_dict": official, "best_prec1": 70.1}, tmp_path / "RESNET18_CBAM.pth")
    name = register_checkpoint(tmp_path / "RESNET18_CBAM.pth")
    assert get_spec(name).title == "CBAM-ResNet-10 (official CBAM layout, 5 classes, from RESNET18_CBAM.pth)"
    torch.testing.assert_close(logits(registered_module(name)), logits(direct), rtol=0, atol=0)


def test_half_precision_checkpoint_computes_in_float32(tmp_path: Path) -> None:
    direct = seeded(SMALL_SE)
    half = {k: v.half() if v.is_floating_point() else v for k, v in direct.state_dict().items()}
    save_file(half, tmp_path / "half.safetensors")
    model = registered_module(register_checkpoint(tmp_path / "half.safetensors"))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    direct.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in half.items()})
    torch.testing.assert_close(logits(model), logits(direct.eval()), rtol=0, atol=0)


def test_same_file_twice_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_file(seeded(SMALL_SE).state_dict(), tmp_path / "a.safetensors")
    shutil.copy(tmp_path / "a.safetensors", tmp_path / "copy.safetensors")
    reads: list[Path] = []
    real = uploads.open_checkpoint
    monkeypatch.setattr(uploads, "open_checkpoint", lambda path, **kw: reads.append(path) or real(path, **kw))
    first = register_checkpoint(tmp_path / "a.safetensors")
    assert register_checkpoint(tmp_path / "a.safetensors") == first
    assert register_checkpoint(tmp_path / "copy.safetensors") == first  # same bytes, another upload path
    assert len(reads) == 1
    other = register_checkpoint(tmp_path / "a.safetensors", labels=NAMES)
    assert other != first and other.startswith(first) and len(reads) == 2
    threads = [threading.Thread(target=register_checkpoint, args=(tmp_path / "copy.safetensors",)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reads) == 2 and uploaded_names() == [first, other]


def test_labels_from_a_file_default_names_and_count_check(tmp_path: Path) -> None:
    save_file(seeded(SMALL_SE).state_dict(), tmp_path / "m.safetensors")
    (tmp_path / "labels.txt").write_text("\n".join(NAMES) + "\n\n", encoding="utf-8")
    named = register_checkpoint(tmp_path / "m.safetensors", labels=tmp_path / "labels.txt")
    assert pipeline.get_model(named).labels == NAMES
    assert checkpoint_info(named).labels == "labels.txt"
    plain = register_checkpoint(tmp_path / "m.safetensors")
    assert pipeline.get_model(plain).labels == tuple(f"class {i}" for i in range(5))
    (tmp_path / "four.txt").write_text("\n".join(NAMES[:4]), encoding="utf-8")
    with pytest.raises(InputError, match=r"four\.txt has 4 names but the checkpoint has 5 classes"):
        register_checkpoint(tmp_path / "m.safetensors", labels=tmp_path / "four.txt")


def test_a_thousand_classes_get_imagenet_names(tmp_path: Path) -> None:
    save_file(seeded(replace(SMALL_SE, num_classes=1000)).state_dict(), tmp_path / "in1k.safetensors")
    name = register_checkpoint(tmp_path / "in1k.safetensors")
    labels = pipeline.get_model(name).labels
    assert len(labels) == 1000 and labels[0] == "tench"
    assert "assumed" in checkpoint_info(name).labels


def test_names_unregister_and_collisions(tmp_path: Path) -> None:
    save_file(seeded(SMALL_SE).state_dict(), tmp_path / "m.safetensors")
    assert register_checkpoint(tmp_path / "m.safetensors", name="my-net") == "my-net"
    assert register_checkpoint(tmp_path / "m.safetensors", name="my-net") == "my-net"
    with pytest.raises(VisualiserError, match="'shapes_cbam' is taken"):
        register_checkpoint(tmp_path / "m.safetensors", name="shapes_cbam")
    unregister_checkpoint("my-net")
    with pytest.raises(ModelNotFoundError):
        get_spec("my-net")
    assert json.loads(json.dumps(checkpoint_info(register_checkpoint(tmp_path / "m.safetensors")).provenance()))


def test_arch_names_a_registered_architecture(tmp_path: Path) -> None:
    config = replace(embedded.SHAPES_CONFIGS["shapes_cbam"], num_classes=3)
    direct = seeded(config)
    save_file(direct.state_dict(), tmp_path / "three.safetensors")
    name = register_checkpoint(tmp_path / "three.safetensors", arch="shapes_cbam")
    spec = get_spec(name)
    assert spec.title == "Shapes CBAM-ResNet-10 (as shapes_cbam, 3 classes, from three.safetensors)"
    assert spec.preprocess == embedded.SHAPES_PREPROCESS
    assert checkpoint_info(name).inference.config == canonical_config(config)
    torch.testing.assert_close(logits(registered_module(name)), logits(direct), rtol=0, atol=0)
    save_file(seeded(SMALL_SE).state_dict(), tmp_path / "other.safetensors")
    with pytest.raises(WeightsError, match="comes closest to shapes_cbam's architecture but does not fit it"):
        register_checkpoint(tmp_path / "other.safetensors", arch="shapes_cbam")


def test_arch_supplies_what_keys_cannot_tell(tmp_path: Path) -> None:
    """The embedded motion net's stage strides are not in its keys: inference assumes torchvision's, --arch knows."""
    motion = with_seeded_weights(build_video_resnet(embedded.MOTION_CONFIG))
    save_file(motion.state_dict(), tmp_path / "motion.safetensors")
    guessed = checkpoint_info(register_checkpoint(tmp_path / "motion.safetensors")).inference
    # layer1's shortcut conv (16 → 16 channels) shows it strides; layer4's (64 → 128) cannot show it does not.
    assert guessed.config.stage_strides == ((1, 2, 2), (2, 2, 2), (2, 2, 2), (2, 2, 2))
    assert any("stage strides 1, 2, 2, 2" in note for note in guessed.assumed)
    named = register_checkpoint(tmp_path / "motion.safetensors", arch="motion_cbam3d")
    assert checkpoint_info(named).inference.config.stage_strides == embedded.MOTION_CONFIG.stage_strides
    assert get_spec(named).labels == "file:models/motion_cbam3d.labels.txt" and get_spec(named).task == "clip"


def test_cli_analyse_with_weights_records_where_they_came_from(tmp_path: Path, fake_inputs, capsys) -> None:
    direct = seeded(SMALL_SE)
    save_file(direct.state_dict(), tmp_path / "mine.safetensors")
    (tmp_path / "labels.txt").write_text("\n".join(NAMES), encoding="utf-8")
    args = ["analyse", str(fake_inputs.image), "--weights", str(tmp_path / "mine.safetensors")]
    args += ["--labels", str(tmp_path / "labels.txt"), "--out", str(tmp_path / "out"), "--no-figures"]
    assert main(args) == 0
    target = tmp_path / "out" / fake_inputs.image.stem
    manifest = json.loads((target / "result.json").read_text(encoding="utf-8"))
    assert manifest["model_title"] == "SE-ResNet-10 (timm layout, 5 classes, from mine.safetensors)"
    record = manifest["checkpoint"]
    assert record["sha256"] == hashlib.sha256((tmp_path / "mine.safetensors").read_bytes()).hexdigest()
    assert record["layout"] == "timm" and record["family"] == "SE-ResNet-10" and record["labels"] == "labels.txt"
    assert record["config"]["attn_options"] == [["reduction", 16], ["width_rule", "divisible8"], ["bias", True]]
    assert any("3x3 conv" in note or "max-pool" in note for note in record["assumed_by_convention"])
    with np.load(target / "result.npz", allow_pickle=False) as bundle:
        assert json.loads(str(bundle["checkpoint/provenance"])) == record
        probabilities = bundle["probabilities"]
    x, _, _ = preprocess_image(load_image(fake_inputs.image), TIMM_PREPROCESS)
    with torch.no_grad():
        expected = torch.softmax(direct(x), dim=1)[0].numpy()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-7)
    assert manifest["predictions"][0]["label"] == NAMES[int(expected.argmax())]
    assert "SE-ResNet-10" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--arch", "shapes_cbam"], "error: --arch and --labels go with --weights FILE"),
        (["--weights", "missing.pth"], "error: missing.pth: no such checkpoint file"),
        (["--weights", "x.pth", "--model", "fake_se"], "error: give --model NAME or --weights FILE, not both"),
    ],
)
def test_cli_errors_are_one_line_and_status_2(tmp_path: Path, fake_inputs, capsys, extra, message) -> None:
    code = main(["analyse", str(fake_inputs.image), "--out", str(tmp_path), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == message


def test_cli_refuses_an_unrelated_net_naming_its_keys(tmp_path: Path, fake_inputs, capsys) -> None:
    mlp = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    torch.save(mlp.state_dict(), tmp_path / "mlp.pth")
    code = main(["analyse", str(fake_inputs.image), "--weights", str(tmp_path / "mlp.pth"), "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith("error: mlp.pth does not look like any ResNet layout") and "0.weight (8, 12)" in err


def test_registered_checkpoint_runs_through_the_pipeline(tmp_path: Path, fake_inputs) -> None:
    save_file(seeded(SMALL_CBAM).state_dict(), tmp_path / "cbam.safetensors")
    name = register_checkpoint(tmp_path / "cbam.safetensors", labels=list(NAMES))
    result = pipeline.analyse_image(fake_inputs.image, model=name, gradcam=True)
    assert [b.name for b in result.blocks] == ["layer1.0.se", "layer2.0.se", "layer3.0.se", "layer4.0.se"]
    assert all(b.spatial_gate is not None and b.channel_gate is not None for b in result.blocks)
    assert result.gradcam is not None and {p.label for p in result.predictions} == set(NAMES)


def test_an_oversized_upload_is_refused_before_it_is_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_file(seeded(SMALL_SE).state_dict(), tmp_path / "m.safetensors")
    monkeypatch.setenv("VISUALISER_MAX_CHECKPOINT_MB", "0.01")
    monkeypatch.setattr(uploads, "file_sha256", lambda path: pytest.fail("an oversized file was hashed"))
    with pytest.raises(WeightsError, match="over the 10 kB limit for checkpoints"):
        register_checkpoint(tmp_path / "m.safetensors")
