"""Reading a user's checkpoint safely: formats, wrappers, damaged files, pickled objects, the size limit."""

from __future__ import annotations

import argparse
import struct
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
    with pytest.raises(WeightsError, match=r"x\.pth is a zip file but not one written by torch\.save"):
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


# --- judged before read: what a file declares decides, before any tensor exists -------------------------------------


def test_a_huge_safetensors_header_is_refused_without_parsing_it(tmp_path: Path, monkeypatch) -> None:
    """200,000 scalars (a 13 MB header): counted in 1 MB reads, refused; nothing parsed, no tensor built."""
    import json
    import tracemalloc

    from tests.support.hostile import many_tensors
    from visualiser.models import checkpoints

    path = many_tensors(tmp_path)
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("the header was parsed"))
    monkeypatch.setattr(checkpoints, "_read_one", lambda *a: pytest.fail("a tensor was read"))
    tracemalloc.start()
    try:
        with pytest.raises(WeightsError, match=r"^many_200000\.safetensors holds 200000 tensors; a ResNet has at"):
            read_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # a 1 MB read buffer, not the 13 MB header nor 200,000 entries


def test_too_many_tensors_in_a_small_header_are_counted_from_the_header(tmp_path: Path, monkeypatch) -> None:
    from tests.support.hostile import write_safetensors
    from visualiser.models import checkpoints

    entries = [(f"t{i}", "F32", (), bytes(4)) for i in range(checkpoints.MAX_KEYS + 1)]
    path = write_safetensors(tmp_path / "count.safetensors", entries)
    monkeypatch.setattr(checkpoints, "_read_one", lambda *a: pytest.fail("a tensor was read"))
    with pytest.raises(WeightsError, match=rf"holds {checkpoints.MAX_KEYS + 1} tensors"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    ("code", "data", "expected"),
    [
        ("I8", bytes(24), "holds int8 tensors"),
        ("U8", bytes(24), "holds uint8 tensors"),
        ("I32", bytes(96), "holds int32 tensors"),
        ("BOOL", bytes(24), "holds bool tensors"),
        ("F8_E4M3", bytes(24), "holds float8 tensors"),
        ("F8_E5M2", bytes(24), "holds float8 tensors"),
    ],
)
def test_integer_bool_and_float8_tensors_are_refused_from_the_header(
    tmp_path: Path, monkeypatch, code: str, data: bytes, expected: str
) -> None:
    from tests.support.hostile import write_safetensors
    from visualiser.models import checkpoints

    counter = ("bn1.num_batches_tracked", "I64", (), bytes(8))  # BatchNorm's int64 counter is fine
    path = write_safetensors(tmp_path / "q.safetensors", [counter, ("conv1.weight", code, (2, 3, 2, 2), data)])
    monkeypatch.setattr(checkpoints, "_read_one", lambda *a: pytest.fail("a tensor was read"))
    with pytest.raises(WeightsError, match=rf"^q\.safetensors {expected} \(conv1\.weight\), not floating-point"):
        read_checkpoint(path)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_float16_bfloat16_and_float64_are_converted_to_float32(
    tmp_path: Path, small_state: dict, dtype: torch.dtype, suffix: str
) -> None:
    stored = {**{k: v.to(dtype) for k, v in small_state.items()}, "bn.num_batches_tracked": torch.tensor(7)}
    path = tmp_path / f"half{suffix}"
    save_file(stored, path) if suffix == ".safetensors" else torch.save(stored, path)
    read = read_checkpoint(path)
    assert read["bn.num_batches_tracked"].dtype == torch.int64 and int(read["bn.num_batches_tracked"]) == 7
    for key, value in small_state.items():
        assert read[key].dtype == torch.float32
        assert torch.equal(read[key], value.to(dtype).to(torch.float32))  # exactly what the file held


def test_safetensors_is_streamed_one_tensor_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """No read of the whole file: each tensor's bytes go straight into its own storage."""
    from visualiser.models import checkpoints

    state = {f"w{i}": torch.full((256, 256), float(i)) for i in range(8)}  # 8 x 256 kB
    save_file(state, tmp_path / "s.safetensors")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the whole file was read"))
    sizes: list[int] = []
    real = checkpoints._read_one
    monkeypatch.setattr(checkpoints, "_read_one", lambda f, o, e, s: sizes.append(e.nbytes) or real(f, o, e, s))
    _same(read_checkpoint(tmp_path / "s.safetensors"), state)
    assert sizes == [256 * 256 * 4] * 8


@pytest.mark.parametrize(
    ("damage", "expected", "cut"),
    [
        ("trailing", r"\(4 kB after the last tensor\)", False),
        ("overlap", r"\(its tensors' bytes overlap or leave gaps\)", False),
        ("short", r"\(the header describes .* of data\); was it cut short\?", True),
        ("shape", r"\(entry b: shape \(3,\) does not match its 16 bytes\)", False),
        ("not json", r"\(its header is not JSON\)", False),
    ],
)
def test_a_damaged_safetensors_layout_gets_one_sentence(tmp_path: Path, damage: str, expected: str, cut: bool) -> None:
    from tests.support.hostile import write_safetensors

    a, b = ("a", "F32", (4,), bytes(16)), ("b", "F32", (4,), bytes(16))
    path = tmp_path / "d.safetensors"
    if damage == "trailing":
        write_safetensors(path, [a, b], pad=bytes(4000))
    elif damage == "overlap":
        write_safetensors(path, [a, b])
        data = path.read_bytes().replace(b'"data_offsets":[16,32]', b'"data_offsets":[12,28]')
        path.write_bytes(data)
    elif damage == "short":
        write_safetensors(path, [a, b])
        path.write_bytes(path.read_bytes()[:-8])
    elif damage == "shape":
        write_safetensors(path, [a, ("b", "F32", (3,), bytes(16))])
    else:
        path.write_bytes(struct.pack("<Q", 9) + b"{not json" + bytes(8))
    with pytest.raises(WeightsError, match=rf"^d\.safetensors is a damaged safetensors file {expected}") as caught:
        read_checkpoint(path)
    assert ("cut short" in str(caught.value)) == cut


def test_a_zip_is_counted_and_sized_from_its_directory_before_torch_reads_it(tmp_path: Path, monkeypatch) -> None:
    from visualiser.models import checkpoints

    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    path = tmp_path / "entries.pth"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(checkpoints.MAX_KEYS + 17):
            archive.writestr(f"archive/data/{i}", b"")
    with pytest.raises(WeightsError, match=rf"is a zip of {checkpoints.MAX_KEYS + 17} entries"):
        read_checkpoint(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/data/0", bytes(1_000_000), compress_type=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 5000
    monkeypatch.setenv(MAX_MB_ENV, "0.5")
    with pytest.raises(WeightsError, match=r"unpacks to 1\.0 MB, over the 500 kB limit"):
        read_checkpoint(path)


def test_storages_a_legacy_pickle_claims_are_summed_before_torch_allocates_them(tmp_path: Path, monkeypatch) -> None:
    """The legacy format allocates each storage at its declared size before reading data: the claim is judged."""
    path = tmp_path / "claim.pth"
    torch.save({"w": torch.zeros(1000)}, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    claim = data.replace(b"M\xe8\x03", b"J\x00\xe1\xf5\x05", 1)  # numel 1000 (BININT2) -> 100,000,000 (BININT)
    assert claim != data
    path.write_bytes(claim)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    with pytest.raises(WeightsError, match=r"^claim\.pth declares 400 MB of tensors, over the 399 MB limit"):
        read_checkpoint(path, limit=399_000_000)


def test_torch_213_refusals_become_the_documented_sentence(tmp_path: Path, small_state: dict) -> None:
    """The messages of the pinned torch: a blocked module (os.system) and an object not allowed by default."""
    import os
    import pickle

    class System:
        def __reduce__(self) -> tuple:
            return (os.system, ("true",))

    torch.save({"state_dict": small_state, "x": System()}, tmp_path / "system.pth")
    with pytest.raises(pickle.UnpicklingError, match=r"Trying to load unsupported GLOBAL posix\.system whose module"):
        torch.load(tmp_path / "system.pth", weights_only=True)  # torch 2.13's own words, which we must recognise
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(tmp_path / "system.pth")
    assert str(caught.value) == (
        "system.pth holds a Python object (posix.system), which is never unpickled here because that could run "
        "code; save model.state_dict() (or a .safetensors file) instead"
    )
    torch.save(torch.nn.Linear(3, 2), tmp_path / "linear.pth")
    with pytest.raises(pickle.UnpicklingError, match=r"Unsupported global: GLOBAL torch\.nn\.modules\.linear\.Linear"):
        torch.load(tmp_path / "linear.pth", weights_only=True)
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(tmp_path / "linear.pth")
    assert "weights_only" not in str(caught.value) and "holds a Python object (torch.nn.modules.linear.Linear)" in str(
        caught.value
    )


def test_cut_short_is_said_only_of_files_that_were(tmp_path: Path, small_state: dict) -> None:
    from tests.support.hostile import zip_slip

    with pytest.raises(WeightsError) as caught:
        read_checkpoint(zip_slip(tmp_path))
    assert str(caught.value) == "zip_slip.pth holds a zip entry named ../../escaped.txt, which torch.save never writes"
    torch.save(small_state, tmp_path / "flipped.pth", _use_new_zipfile_serialization=False)
    data = bytearray((tmp_path / "flipped.pth").read_bytes())
    data[2] = 0xFF  # the magic number's pickle: a damaged header, not a short file
    (tmp_path / "flipped.pth").write_bytes(bytes(data))
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(tmp_path / "flipped.pth")
    assert "cut short" not in str(caught.value)


def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path: Path, small_state: dict) -> None:
    small_state["fc.weight"][1, 2] = float("nan")
    small_state["fc.weight"][0, 0] = float("-inf")
    save_file(small_state, tmp_path / "n.safetensors")
    with pytest.raises(WeightsError, match=r"^n\.safetensors holds NaN or infinite values \(fc\.weight: 2 of 8\)"):
        read_checkpoint(tmp_path / "n.safetensors")


def test_echoed_names_are_bounded_and_printable(tmp_path: Path) -> None:
    from tests.support.hostile import write_safetensors

    key = "conv\n" + "x" * 5000
    path = write_safetensors(tmp_path / "k.safetensors", [(key, "I8", (1,), bytes(1))])
    with pytest.raises(WeightsError) as caught:
        read_checkpoint(path)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400 and "conv\\n" in str(caught.value)
