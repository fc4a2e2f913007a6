"""The command line: analyse writes decodable results, models lists the zoo, bad input is one clear line."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from PIL import Image

from visualiser.cli import main
from visualiser.paths import EXAMPLES_DIR


def test_models_lists_the_zoo_with_availability(capsys):
    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    for name in (
        "seresnet50.a1_in1k",
        "ecaresnet50d.miil_in1k",
        "legacy_seresnet50",
        "legacy_seresnet18",
        "cbam_resnet50",
        "r3d_18",
    ):
        assert name in rows
    assert rows["cbam_resnet50"]["source"].startswith("url https://github.com/osmr/imgclsmob/")
    assert rows["seresnet50.a1_in1k"]["size_mb"] > 50
    assert main(["models"]) == 0
    assert "seresnet50.a1_in1k" in capsys.readouterr().out


def test_analyse_image_writes_result_and_figures(fake_models, fake_inputs, tmp_path, capsys):
    assert main(["analyse", str(fake_inputs.image), "--model", "fake_cbam", "--out", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip()
    target = tmp_path / fake_inputs.image.stem
    manifest = json.loads((target / "result.json").read_text())
    assert manifest["model"] == "fake_cbam" and manifest["predictions"][0]["label"] in line
    with np.load(target / "result.npz") as arrays:
        assert arrays["probabilities"].sum() == np.float32(arrays["probabilities"].sum())
        assert abs(float(arrays["probabilities"].sum()) - 1.0) < 1e-5
    pngs = sorted(target.glob("*.png"))
    assert pngs, "figures are written beside the result"
    for png in pngs:
        with Image.open(png) as im:
            im.verify()


def test_analyse_clip_writes_the_attention_video(fake_models, fake_inputs, tmp_path):
    code = main(["analyse", str(fake_inputs.clip), "--model", "fake_cbam", "--frames", "4", "--out", str(tmp_path)])
    assert code == 0
    videos = sorted((tmp_path / fake_inputs.clip.stem).glob("*.mp4"))
    assert videos
    with av.open(str(videos[0])) as container:
        assert sum(1 for _ in container.decode(video=0)) == 4


def test_corrupt_file_is_one_error_line_and_status_2(fake_models, fake_inputs, tmp_path, capsys):
    code = main(["analyse", str(fake_inputs.corrupt_image), "--model", "fake_se", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_and_unknown_model(fake_models, fake_inputs, tmp_path, capsys):
    assert main(["analyse", str(tmp_path / "nope.png"), "--out", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["analyse", str(fake_inputs.image), "--model", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_fetch_without_internet_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert main(["fetch", "seresnet50.a1_in1k"]) == 2
    err = capsys.readouterr().err
    assert "seresnet50.a1_in1k" in err and "embedded model" in err


def test_animate_writes_mp4_and_gif(fake_inputs, tmp_path):
    out = tmp_path / "conv.mp4"
    assert main(["animate", str(fake_inputs.clip), "--out", str(out), "--gif"]) == 0
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    with Image.open(out.with_suffix(".gif")) as gif:
        assert gif.n_frames == frames > 10


def test_an_input_outside_what_an_embedded_network_learned_gets_a_note(tmp_path, capsys):
    photo, star = EXAMPLES_DIR / "photos" / "coffee.jpg", EXAMPLES_DIR / "shapes" / "star_0.png"
    args = ["--model", "shapes_cbam", "--out", str(tmp_path), "--no-figures"]
    assert main(["analyse", str(photo), str(star), *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    notes = [line for line in lines if ": note: " in line]
    assert len(lines) == 3 and len(notes) == 1 and notes[0].startswith(f"{photo}: note: Outside what Shapes")
    saved = json.loads((tmp_path / "coffee" / "result.json").read_text(encoding="utf-8"))
    assert saved["outside_notice"] == notes[0].split(": note: ", 1)[1]
    assert json.loads((tmp_path / "star_0" / "result.json").read_text(encoding="utf-8"))["outside_notice"] == ""


def test_development_tools_are_not_product_commands(capsys):
    for tool in ("bench", "loadtest", "train", "eval"):  # python -m tools.bench / tools.loadtest / tools.training
        with pytest.raises(SystemExit) as refused:
            main([tool])
        assert refused.value.code == 2 and "invalid choice" in capsys.readouterr().err
