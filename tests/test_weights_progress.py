"""Download progress as people see it: MB of MB through a ``ProgressFn``, and the CLI's lines on stderr."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.support.weights import WeightsServer, sha256, url_spec
from visualiser.cli import main
from visualiser.models import registry
from visualiser.models.weights import DownloadProgress, TextProgress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_an_estimated_total_is_marked_until_the_real_one_is_known() -> None:
    calls: list[tuple[float, str]] = []
    counter = DownloadProgress(lambda f, t: calls.append((f, t)), "w", expected_bytes=10_000_000, interval_s=0)
    counter.update(0)
    counter.update(12_000_000)  # more than the card said: never "120 %", never finished before the end
    counter.set_total(20_000_000)
    counter.update(15_000_000)
    counter.update(14_000_000)  # a retry that restarted: the count does not go back
    counter.finish()
    assert calls == [
        (0.0, "downloading w: 0.0 of about 10.0 MB"),
        (0.99, "downloading w: 12.0 of about 10.0 MB"),
        (0.99, "downloading w: 15.0 of 20.0 MB"),  # 0.75 of the real total, but fractions never decrease
        (1.0, "downloading w: 15.0 of 15.0 MB"),
    ]


def test_reports_are_spaced_and_the_last_one_always_comes() -> None:
    calls: list[tuple[float, str]] = []
    counter = DownloadProgress(lambda f, t: calls.append((f, t)), "w", interval_s=3600)
    counter.set_total(5_000_000)
    for done in range(0, 5_000_001, 100_000):
        counter.update(done)
    counter.finish()
    assert calls == [(0.0, "downloading w: 0.0 of 5.0 MB"), (1.0, "downloading w: 5.0 of 5.0 MB")]


def test_without_any_total_the_bytes_still_count() -> None:
    calls: list[tuple[float, str]] = []
    counter = DownloadProgress(lambda f, t: calls.append((f, t)), "w", interval_s=0)
    counter.update(2_500_000)
    counter.finish()
    assert calls == [(0.0, "downloading w: 2.5 of unknown size"), (1.0, "downloading w: 2.5 of 2.5 MB")]


def test_text_progress_on_a_terminal_rewrites_one_line() -> None:
    stream = Tty()
    show = TextProgress(stream)
    for i in range(11):
        show(i / 10, f"downloading w: {i}.0 of 10.0 MB")
    assert stream.getvalue().count("\n") == 1 and stream.getvalue().endswith("10.0 of 10.0 MB\n")
    assert stream.getvalue().count("\r") == 11


def test_text_progress_in_a_log_writes_a_line_per_quarter() -> None:
    stream = io.StringIO()
    show = TextProgress(stream)
    for i in range(101):
        show(i / 100, f"downloading w: {i / 10:.1f} of 10.0 MB")
    lines = stream.getvalue().splitlines()
    assert lines == [f"downloading w: {x} of 10.0 MB" for x in ("0.0", "2.5", "5.0", "7.5", "10.0")]


def test_cli_fetch_prints_progress_on_stderr_and_the_path_on_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    payload = os.urandom(2_000_000)
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "w.pth").write_bytes(payload)
    with WeightsServer(tmp_path / "served") as server:
        spec = url_spec(server.url("w.pth"), f"sha256:{sha256(payload)}", name="tiny_download")
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
        assert main(["fetch", spec.name]) == 0
        first = capsys.readouterr()
        assert main(["fetch", spec.name]) == 0
        second = capsys.readouterr()
    lines = first.err.splitlines()
    assert lines[0] == "downloading tiny_download weights: 0.0 of 2.0 MB"
    assert lines[-1] == "downloading tiny_download weights: 2.0 of 2.0 MB"
    assert len(lines) <= 5
    assert first.out == f"tiny_download: weights at {tmp_path / 'cache' / 'w.pth'}\n" == second.out
    assert second.err == "" and server.requests == ["/w.pth"]


def test_a_xet_download_counts_the_bytes_written_against_the_file_size() -> None:
    """Hub repos such as timm's are stored on Xet: the hub's Xet reporter drives our bar class (when it has one)."""
    reporting = pytest.importorskip("huggingface_hub.utils._xet_progress_reporting")
    from types import SimpleNamespace

    from visualiser.models.weights.hub import counting_bar

    calls: list[tuple[float, str]] = []
    counter = DownloadProgress(lambda f, t: calls.append((f, t)), "w", expected_bytes=1, interval_s=0)
    reporter = reporting.XetDownloadProgressReporter(
        reconstruction_desc="model.safetensors", total=4_000_000, log_level=30, tqdm_class=counting_bar(counter)
    )
    assert reporter.transfer_bar is reporter.reconstruction_bar  # one bar: written bytes, network bytes ignored
    for written, received in ((0, 500_000), (1_000_000, 2_000_000), (4_000_000, 3_000_000)):
        report = SimpleNamespace(
            total_bytes_completed=written,
            total_transfer_bytes_completed=received,
            total_bytes=4_000_000,
            total_bytes_completion_rate=None,
            total_transfer_bytes_completion_rate=None,
        )
        reporter.update_progress(report)
    reporter.close()
    assert calls == [
        (0.0, "downloading w: 0.0 of 4.0 MB"),
        (0.25, "downloading w: 1.0 of 4.0 MB"),
        (1.0, "downloading w: 4.0 of 4.0 MB"),
    ]


def test_cli_analyse_shows_the_download_of_a_model_it_does_not_have_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The shipped shapes network, re-registered as if it had to be downloaded, through ``analyse``."""
    from dataclasses import replace

    import numpy as np
    from PIL import Image

    from visualiser.paths import ASSETS_DIR
    from visualiser.pipeline.models import forget_models

    shipped = registry.get_spec("shapes_cbam")
    (tmp_path / "served").mkdir()
    weights = (ASSETS_DIR / shipped.weights.location).read_bytes()
    (tmp_path / "served" / "shapes.safetensors").write_bytes(weights)
    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(image)
    with WeightsServer(tmp_path / "served") as server:
        source = replace(shipped.weights, kind="url", location=server.url("shapes.safetensors"))
        spec = replace(shipped, name="shapes_cbam_download", weights=source, embedded=False)
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
        argv = ["analyse", str(image), "--model", spec.name, "--out", str(tmp_path / "out"), "--no-figures"]
        try:
            assert main(argv) == 0
            first = capsys.readouterr()
            forget_models([spec.name])  # a new process: the model is loaded again, from the cache
            assert main(argv) == 0
            second = capsys.readouterr()
        finally:
            forget_models([spec.name])
    size = f"{len(weights) / 1e6:.1f}"
    assert first.err.splitlines()[-1] == f"downloading shapes_cbam_download weights: {size} of {size} MB"
    assert "photo.png: " in first.out and "photo.png: " in second.out
    assert second.err == "" and server.requests == ["/shapes.safetensors"]
