"""A fine-tuned 5-class SE-ResNet-50, saved the way timm and the SENet authors' code save it, through the CLI.

The checkpoints are written from the publishers' own key lists (``tests/fixtures/reference``) with the
fixture recipe's deterministic weights, the classifier cut to its first 5 rows (what fine-tuning to 5
classes leaves: the same backbone, a 5-row head). So the publisher's recorded logits, first 5 columns,
are what the registered network must compute, and a direct build of the same config must agree with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from visualiser import pipeline
from visualiser.cli import main
from visualiser.media import load_image
from visualiser.models.deterministic import seeded_state_dict
from visualiser.models.registry import get_spec
from visualiser.models.resnet import build_resnet
from visualiser.models.uploads import uploaded_names
from visualiser.models.weights import load_into, remap_state_dict
from visualiser.preprocess import preprocess_image

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "fixtures" / "reference"
NAMES = ("daisy", "dandelion", "rose", "sunflower", "tulip")
# case: (reference fixture, file written, classifier key prefix, registered architecture, key map)
CASES = {
    "timm": ("timm_seresnet50.a1_in1k", "flowers.safetensors", "fc.", "seresnet50.a1_in1k", "timm"),
    "legacy": ("timm_legacy_seresnet50.in1k", "flowers_caffe.pth", "last_linear.", "legacy_seresnet50", "legacy_senet"),
}
TITLES = {
    "timm": "SE-ResNet-50 (timm layout, 5 classes, from flowers.safetensors)",
    "legacy": "SE-ResNet-50 (SENet authors' layout, 5 classes, from flowers_caffe.pth)",
}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, dict, dict]]]:
    folder = tmp_path_factory.mktemp("checkpoints")
    out = {}
    for case, (fixture_name, filename, head, _, _) in CASES.items():
        fixture = json.loads((FIXTURES / f"{fixture_name}.json").read_text())
        state = seeded_state_dict(fixture["keys"])
        for key in (f"{head}weight", f"{head}bias"):
            state[key] = state[key][:5].clone()
        path = folder / filename
        if path.suffix == ".safetensors":
            save_file(state, path)
        else:  # a training script's checkpoint, saved from DataParallel
            wrapped = {f"module.{k}": v for k, v in state.items()}
            torch.save({"epoch": 30, "arch": "se_resnet50", "state_dict": wrapped}, path)
        out[case] = (path, fixture, state)
    yield out
    for name in uploaded_names():
        pipeline.forget_models([name])


@pytest.mark.parametrize("case", list(CASES))
def test_fine_tuned_resnet50_through_the_cli(written, case: str, fake_inputs, tmp_path: Path, two_threads) -> None:
    path, fixture, state = written[case]
    _, _, _, registered, key_map = CASES[case]
    (tmp_path / "labels.txt").write_text("\n".join(NAMES), encoding="utf-8")
    args = ["analyse", str(fake_inputs.image), "--weights", str(path), "--labels", str(tmp_path / "labels.txt")]
    assert main([*args, "--out", str(tmp_path / "out"), "--no-figures"]) == 0
    target = tmp_path / "out" / fake_inputs.image.stem
    manifest = json.loads((target / "result.json").read_text(encoding="utf-8"))
    assert manifest["model_title"] == TITLES[case]
    assert manifest["checkpoint"]["file"] == path.name and manifest["checkpoint"]["family"] == "SE-ResNet-50"
    model = get_spec(manifest["model"]).builder()

    # The publisher's logits for its own network, first 5 classes.
    x = torch.randn(fixture["input_shape"], generator=torch.Generator().manual_seed(0))
    reference = torch.tensor(fixture["logits"])[:, :5]
    with torch.no_grad():
        ours = model(x)
    assert (ours - reference).abs().max() <= 1e-4 * reference.abs().max()

    # Building the same config directly and loading it with the project's own loader agrees exactly.
    with torch.device("meta"):
        config = replace(get_spec(registered).builder().cfg, num_classes=5)
    direct = load_into(build_resnet(config), remap_state_dict(state, key_map), "direct").eval()
    with torch.no_grad():
        torch.testing.assert_close(ours, direct(x), rtol=0, atol=0)
        crop, _, _ = preprocess_image(load_image(fake_inputs.image), get_spec(manifest["model"]).preprocess)
        expected = torch.softmax(direct(crop), dim=1)[0].numpy()
    with np.load(target / "result.npz", allow_pickle=False) as bundle:
        np.testing.assert_allclose(bundle["probabilities"], expected, rtol=1e-5, atol=1e-7)
    assert manifest["predictions"][0]["label"] == NAMES[int(expected.argmax())]
