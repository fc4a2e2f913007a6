"""``python -m visualiser fetch NAME --from FILE``: a file brought over by hand is verified, then installed.

The files are made from deterministic weights (``visualiser.models.deterministic``) for test specs whose
checksum is that file's; the download addresses point at a port nothing listens on, so everything here runs
as on a machine without internet. After an install, ``create_model`` must work offline and compute exactly
what the deterministic network computes.
"""

from __future__ import annotations

import hashlib
import io
import socket
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.support.weights import files_in, hub_spec, pth_bytes, safetensors_bytes, sha256, spec_with, tiny_resnet
from visualiser.cli import main
from visualiser.errors import WeightsError
from visualiser.models import registry
from visualiser.models.deterministic import with_seeded_weights
from visualiser.models.loading import create_model
from visualiser.models.registry import ModelSpec, WeightsSource
from visualiser.models.weights import install_weights, weights_available


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("VISUALISER_CACHE", str(directory))
    return directory


@pytest.fixture()
def offline_url() -> str:
    with socket.socket() as s:  # a port nothing listens on: no download can succeed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/models"


def seeded_state() -> dict[str, torch.Tensor]:
    return with_seeded_weights(tiny_resnet()).state_dict()


def register(monkeypatch: pytest.MonkeyPatch, spec: ModelSpec) -> ModelSpec:
    spec = replace(spec, builder=tiny_resnet, title="tiny SE-ResNet")
    monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
    return spec


def url_entry(base: str, payload: bytes, name: str = "tiny_se", **source: object) -> ModelSpec:
    checksum = source.pop("checksum", f"sha256:{sha256(payload)}")
    filename = f"tiny_se-{sha256(payload)[:8]}.pth"
    weights = WeightsSource(kind="url", location=f"{base}/{filename}", checksum=checksum, **source)  # type: ignore[arg-type]
    return spec_with(weights, name)


def assert_computes_the_seeded_network(name: str) -> None:
    model = create_model(name, allow_download=False)
    expected = with_seeded_weights(tiny_resnet())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), expected(x), rtol=0, atol=0)


def test_the_offline_message_leads_to_an_install_that_works(
    tmp_path: Path, cache: Path, offline_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = pth_bytes(seeded_state())
    spec = register(monkeypatch, url_entry(offline_url, payload))
    with pytest.raises(WeightsError) as info:
        create_model(spec.name)
    message = str(info.value)
    filename = spec.weights.location.rsplit("/", 1)[-1]
    assert f"could not be downloaded from {spec.weights.location}" in message
    assert f"SHA-256 {sha256(payload)}" in message
    command = f"python -m visualiser fetch tiny_se --from path/to/{filename}"
    assert f"`{command}`" in message

    brought = tmp_path / "usb-stick" / filename
    brought.parent.mkdir()
    brought.write_bytes(payload)
    assert main([*command.split()[3:-1], str(brought)]) == 0
    out = capsys.readouterr().out
    assert f"SHA-256 {sha256(payload)} matches" in out
    assert f"all {len(seeded_state())} tensors load strictly into tiny SE-ResNet" in out
    assert f"installed at {cache / filename}" in out
    assert files_in(cache) == [filename, filename + ".verified"]
    assert (cache / filename).read_bytes() == payload
    assert weights_available(spec)
    assert_computes_the_seeded_network(spec.name)


def test_a_wrong_file_is_refused_with_the_reason_and_nothing_is_installed(
    tmp_path: Path, cache: Path, offline_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = register(monkeypatch, url_entry(offline_url, pth_bytes(seeded_state())))
    other = seeded_state()
    other["fc.bias"] = other["fc.bias"] + 1  # a retrained head: same keys and shapes, other bytes
    brought = tmp_path / "other.pth"
    brought.write_bytes(pth_bytes(other))
    assert main(["fetch", spec.name, "--from", str(brought)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {brought} was not installed as the weights of 'tiny_se': it is not the published")
    assert f"sha256 {sha256(brought.read_bytes())[:64]} does not match the expected" in err
    assert files_in(cache) == []
    assert not weights_available(spec)

    assert main(["fetch", spec.name, "--from", str(tmp_path / "nowhere.pth")]) == 2
    assert "nowhere.pth: no such file" in capsys.readouterr().err


def test_an_imgclsmob_zip_is_accepted_as_downloaded(
    tmp_path: Path, cache: Path, offline_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = pth_bytes(seeded_state())
    sha1 = hashlib.sha1(inner).hexdigest()  # imgclsmob publishes the SHA-1 of the .pth inside the zip
    weights = WeightsSource(kind="url", location=f"{offline_url}/tiny-0505-{sha1[:8]}.pth.zip", checksum=f"sha1:{sha1}",
                            archive="zip")  # fmt: skip
    spec = register(monkeypatch, spec_with(weights, "tiny_zip"))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"tiny-0505-{sha1[:8]}.pth", inner)
    brought = tmp_path / f"tiny-0505-{sha1[:8]}.pth.zip"
    brought.write_bytes(archive.getvalue())

    installed = install_weights(spec, brought)
    assert installed.path == cache / f"tiny-0505-{sha1[:8]}.pth"
    assert installed.path.read_bytes() == inner
    assert installed.checks[0] == f"SHA-1 {sha1} matches"
    assert_computes_the_seeded_network(spec.name)

    not_a_zip = tmp_path / "broken.pth.zip"
    not_a_zip.write_bytes(b"PK\x03\x04 and then nothing")
    with pytest.raises(WeightsError, match="was not installed as the weights of 'tiny_zip': it is not a valid zip"):
        install_weights(spec, not_a_zip)
    assert files_in(cache) == [installed.path.name, installed.path.name + ".verified"]


def test_a_hub_file_without_a_checksum_is_verified_by_loading_it(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    spec = register(monkeypatch, hub_spec("timm/tiny_se", name="tiny_se.hub"))
    (tmp_path / "ours").mkdir()
    wrong = tmp_path / "ours" / "model.safetensors"
    wrong.write_bytes(safetensors_bytes({"a.weight": torch.zeros(4, 3)}, tmp_path))
    assert main(["fetch", spec.name, "--from", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert "was not installed as the weights of 'tiny_se.hub'" in err
    assert "do not fit the architecture: missing keys: conv1.weight" in err and "unexpected keys: a.weight" in err
    assert [p for p in cache.rglob("*") if p.is_file()] == []

    garbage = tmp_path / "ours" / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match=rf"{garbage} was not installed .*: {garbage} is not a checkpoint"):
        install_weights(spec, garbage)

    right = tmp_path / "model.safetensors"
    right.write_bytes(safetensors_bytes(seeded_state(), tmp_path))
    assert main(["fetch", spec.name, "--from", str(right)]) == 0
    target = cache / "hub" / "timm--tiny_se" / "model.safetensors"
    tensors = len(seeded_state())
    out = capsys.readouterr().out
    assert out.endswith(f"all {tensors} tensors load strictly into tiny SE-ResNet; installed at {target}\n")
    assert weights_available(spec)
    assert_computes_the_seeded_network(spec.name)


def test_weights_that_ship_with_the_project_or_do_not_exist_are_not_installed(tmp_path: Path, cache: Path) -> None:
    brought = tmp_path / "w.pth"
    brought.write_bytes(pth_bytes(seeded_state()))
    embedded = spec_with(WeightsSource(kind="embedded", location="models/shapes_cbam.safetensors"))
    with pytest.raises(WeightsError, match="ship with the project"):
        install_weights(embedded, brought)
    with pytest.raises(WeightsError, match="has no pretrained weights"):
        install_weights(spec_with(WeightsSource(kind="none")), brought)
    assert files_in(cache) == []
