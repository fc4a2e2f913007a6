"""Weights downloads, exercised offline: URL downloads from a local server, the hub against a fake hub and its cache.

The real download, checksum, unzip, cache and hub code runs; only the servers are local. Covers progress (MB of
MB, monotonic, the right total), and that a second use neither downloads nor hashes again.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.support.weights import (
    FakeHub,
    WeightsServer,
    files_in,
    hub_spec,
    make_hub_cache,
    pth_bytes,
    sha256,
    tiny_state,
    url_spec,
)
from visualiser.errors import WeightsError
from visualiser.models.checkpoints import read_checkpoint
from visualiser.models.weights import cache as weights_cache
from visualiser.models.weights import cached_filename, fetch_weights, weights_available
from visualiser.paths import REPO_ROOT


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[WeightsServer]:
    root = tmp_path / "served"
    root.mkdir()
    with WeightsServer(root) as s:
        yield s


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("VISUALISER_CACHE", str(directory))
    return directory


class Recorder:
    """A ProgressFn that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, text: str) -> None:
        self.calls.append((fraction, text))


# --- URL downloads ----------------------------------------------------------------------------


def test_download_verifies_caches_and_reuses(server: WeightsServer, cache: Path) -> None:
    payload = pth_bytes(tiny_state())
    (server.root / "tiny-abc.pth").write_bytes(payload)
    spec = url_spec(server.url("tiny-abc.pth"), f"sha256:{sha256(payload)[:8]}")  # torchvision-style prefix
    assert not weights_available(spec)

    path = fetch_weights(spec)
    assert path == cache / "tiny-abc.pth"
    assert path.read_bytes() == payload
    assert files_in(cache) == ["tiny-abc.pth", "tiny-abc.pth.verified"]
    assert weights_available(spec)
    state = read_checkpoint(path)
    assert all(torch.equal(state[k], v) for k, v in tiny_state().items())

    assert fetch_weights(spec, allow_download=False) == path  # served from the cache
    assert server.requests == ["/tiny-abc.pth"]


def test_progress_is_monotonic_with_the_right_total(server: WeightsServer, cache: Path) -> None:
    payload = os.urandom(3_276_800)  # 3.3 MB: four chunks of the 1 MiB read size
    (server.root / "big.pth").write_bytes(payload)
    spec = url_spec(server.url("big.pth"), f"sha256:{sha256(payload)}", size_mb=9.0)  # the card's size is off
    progress = Recorder()
    fetch_weights(spec, progress=progress)

    fractions = [f for f, _ in progress.calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(text.startswith("downloading test_model weights: ") for _, text in progress.calls)
    assert all(text.endswith(" of 3.3 MB") for _, text in progress.calls)  # the server's length, not the card's
    done = [float(text.split(": ")[1].split(" of ")[0]) for _, text in progress.calls]
    assert done == sorted(done) and done[0] == 0.0 and done[-1] == 3.3

    progress.calls.clear()
    fetch_weights(spec, progress=progress)  # cached: nothing to report
    assert progress.calls == []
    assert server.requests == ["/big.pth"]


def test_second_use_trusts_the_stamp_instead_of_hashing(
    server: WeightsServer, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = pth_bytes(tiny_state())
    (server.root / "w.pth").write_bytes(payload)
    spec = url_spec(server.url("w.pth"), f"sha256:{sha256(payload)}")
    hashed: list[Path] = []
    real_digest = weights_cache.file_digest
    monkeypatch.setattr(weights_cache, "file_digest", lambda path, algo: hashed.append(path) or real_digest(path, algo))

    fetch_weights(spec)
    assert len(hashed) == 1  # the download itself
    fetch_weights(spec, allow_download=False)
    assert len(hashed) == 1  # the stamp fits the file: no re-hash

    (cache / "w.pth").write_bytes(b"x" * len(payload))  # same size, new contents and mtime: the stamp no longer fits
    path = fetch_weights(spec)
    assert path.read_bytes() == payload
    assert server.requests == ["/w.pth", "/w.pth"]


def test_a_file_cached_before_stamps_existed_is_hashed_once(server: WeightsServer, cache: Path) -> None:
    payload = pth_bytes(tiny_state())
    spec = url_spec(server.url("w.pth"), f"sha256:{sha256(payload)}")
    cache.mkdir()
    (cache / "w.pth").write_bytes(payload)
    assert fetch_weights(spec, allow_download=False) == cache / "w.pth"
    assert files_in(cache) == ["w.pth", "w.pth.verified"]
    assert server.requests == []


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
    assert files_in(cache) == ["tiny-0505-1234abcd.pth", "tiny-0505-1234abcd.pth.verified"]

    bad = replace(spec, weights=replace(spec.weights, checksum="sha1:" + "1" * 40, filename="other.pth"))
    with pytest.raises(WeightsError, match="corrupt"):
        fetch_weights(bad)
    assert files_in(cache) == ["tiny-0505-1234abcd.pth", "tiny-0505-1234abcd.pth.verified"]


def test_not_a_zip_is_a_clear_error(server: WeightsServer, cache: Path) -> None:
    (server.root / "w.pth.zip").write_bytes(b"PK but not really")
    with pytest.raises(WeightsError, match="not a valid zip"):
        fetch_weights(url_spec(server.url("w.pth.zip"), None, archive="zip"))
    assert files_in(cache) == []


def test_unreachable_server_names_the_file_its_checksum_and_the_install_command(cache: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cbam_resnet50-0505-d8cf8488.pth.zip"
    spec = url_spec(url, "sha1:d8cf8488efb97afecd6b3287a3ca9fa093fc3127", name="cbam_resnet50", archive="zip")
    with pytest.raises(WeightsError) as info:
        fetch_weights(spec)
    message = str(info.value)
    assert message.startswith("weights for 'cbam_resnet50' are not on this machine and could not be downloaded from")
    assert f"downloaded from {url} (" in message
    assert "cbam_resnet50-0505-d8cf8488.pth.zip, SHA-1 d8cf8488efb97afecd6b3287a3ca9fa093fc3127" in message
    assert "`python -m visualiser fetch cbam_resnet50 --from path/to/cbam_resnet50-0505-d8cf8488.pth.zip`" in message
    assert "Run `python -m visualiser fetch cbam_resnet50` where there is internet" in message
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


# --- the Hugging Face hub ---------------------------------------------------------------------


@pytest.fixture()
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty hub cache (the library reads these constants at call time); offline unless a test says otherwise."""
    from huggingface_hub import constants

    directory = tmp_path / "hf" / "hub"
    directory.mkdir(parents=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(directory))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    return directory


@pytest.fixture()
def fake_hub(hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The hub library pointed at a local fake hub, online."""
    from huggingface_hub import constants

    with FakeHub() as hub:
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url_template)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield hub


def test_hub_offline_with_empty_cache_is_a_clear_error(hub_cache: Path) -> None:
    spec = hub_spec()
    assert not weights_available(spec)
    with pytest.raises(WeightsError) as info:
        fetch_weights(spec)
    message = str(info.value)
    assert "weights for 'seresnet50.a1_in1k' are not on this machine" in message
    assert "HF_HUB_OFFLINE" in message
    assert "download model.safetensors (no published checksum: it is checked by loading it strictly" in message
    assert "https://huggingface.co/timm/seresnet50.a1_in1k/resolve/main/model.safetensors" in message
    assert "`python -m visualiser fetch seresnet50.a1_in1k --from path/to/model.safetensors`" in message


def test_hub_cache_is_used_offline(hub_cache: Path) -> None:
    stored = make_hub_cache(hub_cache, "timm/seresnet50.a1_in1k", tiny_state())
    spec = hub_spec()
    assert weights_available(spec)
    path = fetch_weights(spec, allow_download=False)
    assert path.resolve() == stored.resolve()
    state = read_checkpoint(path)
    assert all(torch.equal(state[k], v) for k, v in tiny_state().items())


def test_hub_download_reports_progress_and_the_second_use_stays_offline(fake_hub: FakeHub, hub_cache: Path) -> None:
    body = os.urandom(2_500_000)
    fake_hub.files["timm/tiny/model.safetensors"] = body
    spec = hub_spec("timm/tiny", name="tiny_hub", size_mb=9.0)
    progress = Recorder()
    path = fetch_weights(spec, progress=progress)
    assert path.read_bytes() == body
    assert path.is_relative_to(hub_cache / "models--timm--tiny")  # the hub's own cache
    fractions = [f for f, _ in progress.calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert progress.calls[-1][1] == "downloading tiny_hub weights: 2.5 of 2.5 MB"
    assert all(text.endswith(" of 2.5 MB") for _, text in progress.calls)  # the hub's metadata, not the card
    requests = list(fake_hub.requests)
    # the probe (one HEAD without retries, so an offline machine fails in seconds), then the hub's HEAD and GET
    assert [r.split()[0] for r in requests] == ["HEAD", "HEAD", "GET"]

    progress.calls.clear()
    assert fetch_weights(spec, allow_download=False, progress=progress) == path
    assert fetch_weights(spec, progress=progress) == path
    assert fake_hub.requests == requests and progress.calls == []  # no network, nothing to report


def test_hub_without_tqdm_class_still_reports_start_and_end(fake_hub: FakeHub, hub_cache: Path) -> None:
    """huggingface_hub 0.30–1.0 take no ``tqdm_class``: the download is announced and its end reported."""
    from huggingface_hub import hf_hub_download

    from visualiser.models.weights.hub import download_with_progress
    from visualiser.models.weights.progress import DownloadProgress

    fake_hub.files["timm/old/model.safetensors"] = body = os.urandom(1_200_000)
    progress = Recorder()

    def older_download(repo_id: str, filename: str) -> str:  # the signature of an hf_hub_download before tqdm_class
        return hf_hub_download(repo_id, filename)

    counter = DownloadProgress(progress, "old", 10**6)
    path = download_with_progress(older_download, "timm/old", "model.safetensors", counter)
    assert path.read_bytes() == body
    assert progress.calls == [(0.0, "downloading old: 0.0 of about 1.0 MB"), (1.0, "downloading old: 1.2 of 1.2 MB")]


def test_hub_missing_file_is_unavailable(fake_hub: FakeHub) -> None:
    with pytest.raises(WeightsError, match=r"could not be downloaded from https://huggingface.co/timm/nothing"):
        fetch_weights(hub_spec("timm/nothing", name="nothing"))


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
    env["VISUALISER_CACHE"] = str(tmp_path / "cache")
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.strip().splitlines()
    assert first.startswith(str(tmp_path / "hf" / "hub" / "models--timm--seresnet50.a1_in1k"))
    assert second.startswith("ERROR weights for 'ecaresnet50d.miil_in1k' are not on this machine")
