"""The package as a researcher installs it: the wheel in a fresh virtual environment, used from another folder.

``.ci/installed`` builds the wheel, installs it (after the CPU torch) into a new environment outside the
repository, copies this file, ``nets.py`` and the README into an empty folder and runs pytest there twice: the
core install (``-k core_install``, no Gradio), then, with the ``[app]`` extra added, everything else. Nothing here
may import from the repository: ``visualiser`` must be the installed one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from nets import CbamUNet, MobileNetV3Like, TinySENet
from PIL import Image

import visualiser
from visualiser.models.registry import Preprocess
from visualiser.paths import EXAMPLES_DIR, LEARN_DIR, MODELS_DIR
from visualiser.pipeline import analyse_image

HERE = Path(__file__).resolve().parent
SCRIPT = Path(sys.executable).with_name("attention-visualiser")


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


# --- the core install: no Gradio -------------------------------------------------------------------------------------


def test_core_install_is_the_installed_package_with_its_files():
    package = Path(visualiser.__file__).resolve().parent
    assert package.is_relative_to(Path(sys.prefix).resolve()), f"{package} is not the installed package"
    assert (MODELS_DIR / "shapes_cbam.safetensors").is_file() and (LEARN_DIR / "en" / "4_cbam.md").is_file()
    assert MODELS_DIR.is_relative_to(package) and EXAMPLES_DIR.is_relative_to(package)


def test_core_install_wheel_holds_the_package_and_nothing_else():
    names = zipfile.ZipFile(os.environ["VISUALISER_WHEEL"]).namelist()
    tracked = Path(os.environ["VISUALISER_PACKAGE_FILES"]).read_text(encoding="utf-8").split()
    assert tracked and not [name for name in tracked if name not in names]  # every file of visualiser/, data too
    assert {name.split("/")[0] for name in names} == {
        "visualiser",
        f"attention_visualiser-{visualiser.__version__}.dist-info",
    }
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # The embedded models' training and data generators made the shipped files; they stay in the repository (tools/).
    assert not [name for name in names if name.startswith(("visualiser/training/", "visualiser/data/"))]


def test_core_install_analyses_a_shipped_example_from_the_command_line(tmp_path):
    example = EXAMPLES_DIR / "shapes" / "star_0.png"
    done = _run(sys.executable, "-m", "visualiser", "analyse", example, "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "star_0" / "result.json").read_text(encoding="utf-8"))
    assert summary["model"] == "shapes_cbam" and summary["predictions"][0]["label"] == "star"
    assert len(summary["blocks"]) == 4 and (tmp_path / "out" / "star_0" / "spatial_grid.png").is_file()
    listed = _run(SCRIPT, "models", cwd=tmp_path)
    assert listed.returncode == 0 and re.search(r"shapes_cbam\s+image\s+cbam\s+[\d.]+ MB yes", listed.stdout)
    for tool in ("bench", "train"):  # development tools: tools.bench, tools.training; not shipped
        done = _run(SCRIPT, tool, "--quick", cwd=tmp_path)
        assert done.returncode == 2 and f"invalid choice: '{tool}'" in done.stderr


def test_core_install_launch_says_how_to_get_the_app():
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'attention-visualiser\[app\]'"):
        visualiser.launch  # noqa: B018 -- the attribute itself imports the app


# --- with the [app] extra ---------------------------------------------------------------------------------------------


def test_the_readmes_own_network_example_runs_as_written(tmp_path, monkeypatch):
    text = (HERE / "README.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text.split("## Your own network", 1)[1], re.S).group(1)
    monkeypatch.chdir(tmp_path)  # not the repository: the example finds its picture in the package
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), namespace)
    lines = printed.getvalue().splitlines()
    assert "Prediction(" in lines[0] and lines[0].endswith("2 (16,)")
    assert lines[1].startswith("unknown (found at run time) | channel gate: function mode inside 2")
    assert namespace["name"].startswith("custom_")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_launch_serves_your_network_and_answers_a_request():
    from gradio_client import Client, handle_file

    torch.manual_seed(0)
    net = TinySENet(classes=3)
    labels = ["cup", "plate", "spoon"]
    pre = Preprocess(input_size=96)
    demo = visualiser.launch(net, preprocess=pre, labels=labels, block=False, server_port=_free_port(), quiet=True)
    try:
        name = visualiser.register_module(net)
        label, _overlay, summary = Client(demo.local_url, verbose=False).predict(
            handle_file(str(EXAMPLES_DIR / "photos" / "coffee.jpg")), name, api_name="/analyse_image"
        )
        assert summary["model"] == name and {c["label"] for c in label["confidences"]} == set(labels)
        assert len(summary["channel_gates"]) == 2  # both SE gates, recorded in the pass that answered
    finally:
        demo.close()


def test_a_one_channel_cbam_unet_shows_every_gate_on_the_grey_picture(tmp_path):
    torch.manual_seed(0)
    net = CbamUNet(in_channels=1)
    yy, xx = np.mgrid[0:256, 0:320]
    scan = np.clip(128 + 90 * np.sin(xx / 11.0) * np.cos(yy / 17.0) + (xx > 200) * 30, 0, 255).astype(np.uint8)
    path = tmp_path / "scan.png"
    Image.fromarray(scan).save(path)  # a grey (mode L) PNG, as scanners write them
    seen: list[torch.Tensor] = []
    net.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach().clone()))
    pre = Preprocess(input_size=256, crop_pct=1.0, channels=1, mean=(0.5,), std=(0.25,))

    result = analyse_image(path, model=net, preprocess=pre)

    assert "not class scores" in result.note and result.predictions == ()  # a segmentation map, no classes
    x = seen[-1]
    assert x.shape == (1, 1, 256, 256)  # the picture as the network takes it: one channel
    crop = scan[:, 32:288].astype(np.float32) / 255.0  # 320 x 256 at 256 px: the centre 256 columns
    np.testing.assert_allclose(x[0, 0].numpy(), (crop - 0.5) / 0.25, atol=1e-6)
    assert [b.name for b in result.blocks] == ["att1", "att2", "att3"]
    for block, module in zip(result.blocks, net.attention(), strict=True):
        channel, spatial = module.multiplied
        assert block.kind == "cbam"
        assert np.array_equal(block.channel_gate, channel[0, :, 0, 0].numpy())  # bit for bit
        assert np.array_equal(block.spatial_gate, spatial[0, 0].numpy())
    grey = np.repeat(scan[:, :, None], 3, axis=2)
    assert np.array_equal(result.original_image, grey)  # heatmaps go over the picture given, still grey
    from visualiser.render.spatial import overlay

    for block in result.blocks:
        base = overlay(result, block.name, alpha=0.0, with_colorbar=False, max_side=None)
        inner = (slice(4, 252), slice(36, 284))  # the crop (columns 32..288) less its outline
        assert np.array_equal(base[inner], grey[inner])  # with no heatmap colour: exactly the grey picture
        assert np.array_equal(base[..., 0], base[..., 1]) and np.array_equal(base[..., 0], base[..., 2])  # all grey
    assert result._repr_html_().count("<img") == 3 and type(result.figure("spatial")).__name__ == "Figure"


def test_an_in_place_relu6_hard_sigmoid_gate_is_found_and_recorded():
    torch.manual_seed(0)
    net = MobileNetV3Like(classes=4)
    result = analyse_image(EXAMPLES_DIR / "photos" / "coffee.jpg", model=net, preprocess=Preprocess(input_size=128))
    modules = net.attention()
    assert len(result.blocks) == len(modules) == 3
    for block, module in zip(result.blocks, modules, strict=True):
        assert np.array_equal(block.channel_gate, module.multiplied[0][0, :, 0, 0].numpy())
