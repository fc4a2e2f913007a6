"""Reading a user's checkpoint safely: formats, wrappers, damaged files, pickled objects, the size limit."""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from visualiser.errors import WeightsError
from visualiser.models.checkpoints import MAX_MB_ENV, read_checkpoint

MARKER_NAME = "unpickled-code-ran.txt"


def _ran(path: str) -> None:
    """What a malicious pickle would call; it must never run."""
    Path(path).write_text("ran", encoding="utf-8")


class Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple:
        return (_ran, (self.marker,))


@pytest.fixture()
def small_state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"conv1.weight": torch.randn(4, 3, 3, 3, generator=g), "fc.weight": torch.randn(2, 4, generator=g)}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_safetensors_and_torch_files_read_alike(tmp_path: Path, small_state: dict) -> None:
    save_file(small_state, tmp_path / "a.safetensors")
    torch.save(small_state, tmp_path / "b.pth")
    torch.save(small_state, tmp_path / "c.pt", _use_new_zipfile_serialization=False)  # the pre-1.6 format
    (tmp_path / "d.bin").write_bytes((tmp_path / "a.safetensors").read_bytes())  # the kind comes from the bytes
    for name in ("a.safetensors", "b.pth", "c.pt", "d.bin"):
        _same(read_checkpoint(tmp_path / name), small_state)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: {"state_dict": sd, "epoch": 90, "arch": "se_resnet50", "best_acc1": 77.1},
        lambda sd: {"model": {f"module.{k}": v for k, v in sd.items()}, "optimizer": {"state": {}, "lr": 0.1}},
        lambda sd: {"model_state_dict": {f"_orig_mod.{k}": v for k, v in sd.items()}},
        lambda sd: {"state_dict": {f"model.{k}": v for k, v in sd.items()}, "hyper_parameters": {"lr": 0.1}},
        lambda sd: {"state_dict": sd, "args": argparse.Namespace(lr=0.1, model="seresnet50"), "acc": np.float64(7)},
    ],
    ids=["state_dict", "model+DataParallel", "compiled", "lightning", "timm-train-args"],
)
def test_training_checkpoints_are_unwrapped(tmp_path: Path, small_state: dict, wrap) -> None:
    torch.save(wrap(small_state), tmp_path / "ckpt.pth")
    _same(read_checkpoint(tmp_path / "ckpt.pth"), small_state)


def test_a_pickled_object_is_refused_and_never_runs(tmp_path: Path, small_state: dict) -> None:
    marker = tmp_path / MARKER_NAME
    torch.save({"state_dict": small_state, "hook": Hostile(marker)}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match=r"holds a Python object \(tests\.test_checkpoints\._ran\)"):
        read_checkpoint(tmp_path / "evil.pth")
    assert not marker.exists()


def test_a_whole_pickled_module_is_refused_with_advice(tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(3, 2), tmp_path / "model.pth")
    with pytest.raises(WeightsError, match=r"torch\.nn\.modules\.linear\.Linear.*save model\.state_dict\(\)"):
        read_checkpoint(tmp_path / "model.pth")


@pytest.mark.parametrize("fmt", ["safetensors", "zip", "legacy"])
@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_a_truncated_file_gives_one_sentence(tmp_path: Path, small_state: dict, fmt: str, keep: float) -> None:
    path = tmp_path / f"cut.{'safetensors' if fmt == 'safetensors' else 'pth'}"
    if fmt == "safetensors":
        save_file(small_state, path)
    else:
        torch.save(small_state, path, _use_new_zipfile_serialization=fmt == "zip")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(path)
    message = str(caught.value)
    assert message.startswith("cut.") and "\n" not in message and len(message) < 400
    assert "cut short" in message or "not a checkpoint" in message


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's note on the bare pickle below
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(200), "not a checkpoint"),  # a JPEG renamed .pth
        (b"", "is empty"),
        (b"\x80\x04K\x05.", "cannot be read as a PyTorch checkpoint"),  # a bare pickle, not torch.save's
    ],
)
def test_not_a_checkpoint(tmp_path: Path, content: bytes, expected: str) -> None:
    (tmp_path / "x.pth").write_bytes(content)
    with pytest.raises(WeightsError, match=expected):
        read_checkpoint(tmp_path / "x.pth")


@pytest.mark.parametrize(("value", "kind"), [(5, "int"), ([torch.zeros(2)], "list")])
def test_a_torch_file_that_is_not_a_state_dict(tmp_path: Path, value: object, kind: str) -> None:
    torch.save(value, tmp_path / "x.pth")
    with pytest.raises(WeightsError, match=f"holds a value of type {kind}, not a state_dict"):
        read_checkpoint(tmp_path / "x.pth")


def test_a_zip_that_is_not_a_torch_file(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "x.pth", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(WeightsError, match="cannot be read as a PyTorch checkpoint"):
        read_checkpoint(tmp_path / "x.pth")


def test_a_file_without_tensors(tmp_path: Path) -> None:
    torch.save({"epoch": 3, "arch": "resnet"}, tmp_path / "x.pth")
    with pytest.raises(WeightsError, match=r"holds no tensors \(its top-level entries: epoch, arch\)"):
        read_checkpoint(tmp_path / "x.pth")


def test_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_file({"w": torch.zeros(300_000)}, tmp_path / "big.safetensors")  # 1.2 MB
    monkeypatch.setenv(MAX_MB_ENV, "1")
    with pytest.raises(WeightsError, match=rf"big\.safetensors is 1\.2 MB, over the 1\.0 MB limit.*{MAX_MB_ENV}"):
        read_checkpoint(tmp_path / "big.safetensors")
    monkeypatch.setenv(MAX_MB_ENV, "2")
    assert read_checkpoint(tmp_path / "big.safetensors")["w"].shape == (300_000,)
    monkeypatch.setenv(MAX_MB_ENV, "lots")
    with pytest.raises(WeightsError, match="must be a number of megabytes"):
        read_checkpoint(tmp_path / "big.safetensors")


def test_tensors_declaring_more_than_the_limit_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zero-stride view stores one number but claims 40 MB; the claim counts, not the file size."""
    torch.save({"w": torch.zeros(1).expand(10_000_000)}, tmp_path / "bomb.pth")
    assert (tmp_path / "bomb.pth").stat().st_size < 10_000
    monkeypatch.setenv(MAX_MB_ENV, "10")
    with pytest.raises(WeightsError, match=r"declares 40 MB of tensors, over the 10 MB limit"):
        read_checkpoint(tmp_path / "bomb.pth")


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch's notes on the odd pickle opcodes corruption makes
@pytest.mark.parametrize("fmt", ["safetensors", "zip", "legacy"])
def test_damaged_bytes_only_ever_give_a_weights_error(tmp_path: Path, small_state: dict, fmt: str) -> None:
    """Cut and flipped-byte versions of each format: read, or one WeightsError; never another exception."""
    import random

    source = tmp_path / f"src.{fmt}"
    if fmt == "safetensors":
        save_file(small_state, source)
    else:
        torch.save(small_state, source, _use_new_zipfile_serialization=fmt == "zip")
    data, rng, outcomes = source.read_bytes(), random.Random(fmt), {"read": 0, "refused": 0}
    for i in range(60):
        damaged = bytearray(data[: rng.randrange(len(data))] if i % 2 else data)
        for _ in range(0 if i % 2 else rng.randrange(1, 12)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        (tmp_path / "d.bin").write_bytes(bytes(damaged))
        try:
            read_checkpoint(tmp_path / "d.bin")
            outcomes["read"] += 1
        except WeightsError:
            outcomes["refused"] += 1
    assert outcomes["refused"] >= 30  # every cut file is refused; flips in the tensor bytes may still read
