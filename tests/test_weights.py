"""Weights: the real download, checksum, unzip and hub code paths, exercised offline.

URL downloads are served by a ``http.server`` on 127.0.0.1 in a thread; the hub path runs
``huggingface_hub`` itself against an empty cache in offline mode and against a cache built with
the hub's own on-disk layout. Also: key remapping, strict loading, zoo metadata and label files.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from visualiser.errors import WeightsError
from visualiser.labels import load_labels
from visualiser.models import registry
from visualiser.models.loading import create_model
from visualiser.models.registry import ModelSpec, Preprocess, WeightsSource, list_specs
from visualiser.models.resnet import ResNetConfig, build_resnet
from visualiser.models.weights import (
    cached_filename,
    fetch_weights,
    load_into,
    read_state_dict,
    remap_state_dict,
    weights_available,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

# --- a local weights server -------------------------------------------------------------------


class WeightsServer:
    """Serves ``root`` over HTTP on 127.0.0.1; ``/truncated/<file>`` promises more bytes than it sends."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

            def do_GET(self) -> None:
                server.requests.append(self.path)
                if self.path.startswith("/truncated/"):
                    body = (root / self.path.removeprefix("/truncated/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 3])
                    self.close_connection = True
                    return
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[WeightsServer]:
    root = tmp_path / "served"
    root.mkdir()
    s = WeightsServer(root)
    s.thread.start()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("VISUALISER_CACHE", str(directory))
    return directory


def tiny_state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {"a.weight": torch.randn(4, 3, generator=g), "a.bias": torch.randn(4, generator=g)}


def pth_bytes(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def url_spec(url: str, checksum: str | None, name: str = "test_model", **source: object) -> ModelSpec:
    return ModelSpec(
        name=name,
        title="test",
        task="image",
        builder=lambda: nn.Linear(3, 4),
        weights=WeightsSource(kind="url", location=url, checksum=checksum, **source),  # type: ignore[arg-type]
        preprocess=Preprocess(),
        labels="imagenet1k",
        attention="none",
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# --- URL downloads ----------------------------------------------------------------------------


def test_download_verifies_caches_and_reuses(server: WeightsServer, cache: Path) -> None:
    payload = pth_bytes(tiny_state())
    (server.root / "tiny-abc.pth").write_bytes(payload)
    spec = url_spec(server.url("tiny-abc.pth"), f"sha256:{sha256(payload)[:8]}")  # torchvision-style prefix
    assert not weights_available(spec)

    path = fetch_weights(spec)
    assert path == cache / "tiny-abc.pth"
    assert path.read_bytes() == payload
    assert files_in(cache) == ["tiny-abc.pth"]
    assert weights_available(spec)
    state = read_state_dict(path)
    assert all(torch.equal(state[k], v) for k, v in tiny_state().items())

    assert fetch_weights(spec, allow_download=False) == path  # served from the cache
    assert server.requests == ["/tiny-abc.pth"]


@pytest.mark.parametrize("damage", ["garbage", "partial"])
def test_corrupt_or_partial_cache_is_fetched_again(server: WeightsServer, cache: Path, damage: str) -> None:
    payload = pth_bytes(tiny_state())
    (server.root / "w.pth").write_bytes(payload)
    spec = url_spec(server.url("w.pth"), f"sha256:{sha256(payload)}")
    cache.mkdir()
    (cache / "w.pth").write_bytes(b"x" * len(payload) if damage == "garbage" else payload[:100])
    path = fetch_weights(spec)
    assert path.read_bytes() == payload
    assert server.requests == ["/w.pth"]


def test_corrupt_cache_without_downloads_is_an_error(cache: Path) -> None:
    cache.mkdir()
    (cache / "w.pth").write_bytes(b"not the weights")
    spec = url_spec("http://127.0.0.1:9/w.pth", "sha256:" + "0" * 64)
    with pytest.raises(WeightsError, match="downloads are turned off"):
        fetch_weights(spec, allow_download=False)
    assert files_in(cache) == []


def test_wrong_checksum_is_rejected_and_nothing_is_left(server: WeightsServer, cache: Path) -> None:
    (server.root / "w.pth").write_bytes(pth_bytes(tiny_state()))
    spec = url_spec(server.url("w.pth"), "sha256:deadbeef")
    with pytest.raises(WeightsError, match=r"corrupt or have changed.*deadbeef"):
        fetch_weights(spec)
    assert files_in(cache) == []


def test_truncated_download_leaves_no_file(server: WeightsServer, cache: Path) -> None:
    (server.root / "w.pth").write_bytes(pth_bytes(tiny_state()))
    spec = url_spec(server.url("truncated/w.pth"), None, filename="w.pth")  # no checksum: length alone must catch it
    with pytest.raises(WeightsError, match="not on this machine"):
        fetch_weights(spec)
    assert files_in(cache) == []


def test_zip_is_unpacked_and_the_inner_file_verified(server: WeightsServer, cache: Path) -> None:
    inner = pth_bytes(tiny_state())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("tiny-0505-1234abcd.pth", inner)
    (server.root / "tiny-0505-1234abcd.pth.zip").write_bytes(archive.getvalue())
    sha1 = hashlib.sha1(inner).hexdigest()  # imgclsmob publishes the .pth's SHA-1, not the zip's
    spec = url_spec(server.url("tiny-0505-1234abcd.pth.zip"), f"sha1:{sha1}", archive="zip")
    assert cached_filename(spec.weights) == "tiny-0505-1234abcd.pth"
    path = fetch_weights(spec)
    assert path.read_bytes() == inner
    assert files_in(cache) == ["tiny-0505-1234abcd.pth"]

    bad = replace(spec, weights=replace(spec.weights, checksum="sha1:" + "1" * 40, filename="other.pth"))
    with pytest.raises(WeightsError, match="corrupt"):
        fetch_weights(bad)
    assert files_in(cache) == ["tiny-0505-1234abcd.pth"]


def test_not_a_zip_is_a_clear_error(server: WeightsServer, cache: Path) -> None:
    (server.root / "w.pth.zip").write_bytes(b"PK but not really")
    with pytest.raises(WeightsError, match="not a valid zip"):
        fetch_weights(url_spec(server.url("w.pth.zip"), None, archive="zip"))
    assert files_in(cache) == []


def test_unreachable_server_explains_what_to_do(cache: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cbam.pth"
    with pytest.raises(WeightsError) as info:
        fetch_weights(url_spec(url, None, name="cbam_resnet50"))
    message = str(info.value)
    assert message.startswith("weights for 'cbam_resnet50' are not on this machine and could not be downloaded from")
    assert url in message
    assert "run `python -m visualiser fetch cbam_resnet50` where there is internet" in message
    assert files_in(cache) == []


def test_http_error_and_no_download(server: WeightsServer, cache: Path) -> None:
    with pytest.raises(WeightsError, match="404"):
        fetch_weights(url_spec(server.url("missing.pth"), None))
    with pytest.raises(WeightsError, match="downloads are turned off"):
        fetch_weights(url_spec(server.url("other.pth"), None), allow_download=False)
    assert server.requests == ["/missing.pth"]


def test_file_url(tmp_path: Path, cache: Path) -> None:
    source = tmp_path / "local.pth"
    source.write_bytes(pth_bytes(tiny_state()))
    path = fetch_weights(url_spec(source.as_uri(), f"sha256:{sha256(source.read_bytes())[:10]}"))
    assert path.read_bytes() == source.read_bytes()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unreadable_weights_file(tmp_path: Path) -> None:
    for name in ("broken.pth", "broken.safetensors"):
        broken = tmp_path / name
        broken.write_bytes(b"\x80\x04not a pickle, not a safetensors header")
        with pytest.raises(WeightsError, match="cannot be read"):
            read_state_dict(broken)
    not_a_dict = tmp_path / "list.pth"
    not_a_dict.write_bytes(pth_bytes([torch.zeros(1)]))
    with pytest.raises(WeightsError, match="not a state_dict"):
        read_state_dict(not_a_dict)


def test_missing_embedded_weights() -> None:
    spec = replace(url_spec("", None), weights=WeightsSource(kind="embedded", location="models/nope.safetensors"))
    assert not weights_available(spec)
    with pytest.raises(WeightsError, match=r"embedded weights .* are missing"):
        fetch_weights(spec)


# --- the Hugging Face hub ---------------------------------------------------------------------


def hub_spec(repo: str = "timm/seresnet50.a1_in1k") -> ModelSpec:
    return replace(
        url_spec("", None, name="seresnet50.a1_in1k"),
        weights=WeightsSource(kind="hub", location=repo, filename="model.safetensors"),
    )


def make_hub_cache(hub_cache: Path, repo: str, tensors: dict[str, torch.Tensor]) -> Path:
    """The hub's cache layout: models--org--name/{refs/main, snapshots/<commit>/<file>}."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = hub_cache / ("models--" + repo.replace("/", "--"))
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    save_file(tensors, str(snapshot / "model.safetensors"))
    return snapshot / "model.safetensors"


@pytest.fixture()
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache in offline mode (the library reads these constants at call time)."""
    from huggingface_hub import constants

    hub_cache = tmp_path / "hf" / "hub"
    hub_cache.mkdir(parents=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hub_cache


def test_hub_offline_with_empty_cache_is_a_clear_error(offline_hub: Path) -> None:
    spec = hub_spec()
    assert not weights_available(spec)
    with pytest.raises(WeightsError) as info:
        fetch_weights(spec)
    message = str(info.value)
    assert "weights for 'seresnet50.a1_in1k' are not on this machine" in message
    assert "https://huggingface.co/timm/seresnet50.a1_in1k" in message
    assert "HF_HUB_OFFLINE" in message
    assert "python -m visualiser fetch seresnet50.a1_in1k" in message


def test_hub_cache_is_used_offline(offline_hub: Path) -> None:
    stored = make_hub_cache(offline_hub, "timm/seresnet50.a1_in1k", tiny_state())
    spec = hub_spec()
    assert weights_available(spec)
    path = fetch_weights(spec, allow_download=False)
    assert path.resolve() == stored.resolve()
    state = read_state_dict(path)
    assert all(torch.equal(state[k], v) for k, v in tiny_state().items())


@pytest.mark.slow
def test_hub_honours_hf_home_and_offline_env(tmp_path: Path) -> None:
    """In a fresh interpreter, HF_HOME and HF_HUB_OFFLINE from the environment decide where and whether."""
    make_hub_cache(tmp_path / "hf" / "hub", "timm/seresnet50.a1_in1k", tiny_state())
    script = (
        "from visualiser.models.registry import get_spec\n"
        "from visualiser.models.weights import fetch_weights\n"
        "from visualiser.errors import WeightsError\n"
        "print(fetch_weights(get_spec('seresnet50.a1_in1k')))\n"
        "try:\n"
        "    fetch_weights(get_spec('ecaresnet50d.miil_in1k'))\n"
        "except WeightsError as e:\n"
        "    print('ERROR', e)\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()
    assert first.startswith(str(tmp_path / "hf" / "hub" / "models--timm--seresnet50.a1_in1k"))
    assert second.startswith("ERROR weights for 'ecaresnet50d.miil_in1k' are not on this machine")


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


def tiny_resnet() -> nn.Module:
    cfg = ResNetConfig(block="basic", layers=(1, 1), widths=(8, 16), stem_width=8, style="caffe", attn="se",
                       attn_options=(("reduction", 4),), num_classes=3)  # fmt: skip
    torch.manual_seed(0)
    return build_resnet(cfg).eval()


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


def test_create_model_downloads_remaps_and_loads(
    server: WeightsServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = tiny_resnet()
    with torch.no_grad():
        for p in reference.parameters():
            p.normal_()
    payload = pth_bytes({"state_dict": to_legacy_layout(reference.state_dict()), "epoch": 7})
    (server.root / "tiny_se-0000.pth").write_bytes(payload)
    spec = replace(
        url_spec(server.url("tiny_se-0000.pth"), f"sha256:{sha256(payload)}", name="tiny_legacy_se",
                 key_map="legacy_senet"),
        builder=tiny_resnet,
    )  # fmt: skip
    monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
    model = create_model(spec.name)
    assert not model.training
    x = torch.randn(2, 3, 32, 32)
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
