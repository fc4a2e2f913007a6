"""The load test: its pieces checked against independent computations, and a small run against the real app.

The small run (4 clients × 3 requests) launches ``app.py`` as a subprocess with the seeded random models of
``tests/fakes.py`` registered first (``write_fake_app``), so it needs no trained weights.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools import loadtest
from tools.loadtest import Answer, LoadReport, percentile, same_answer, same_values, with_nonce

REPO = Path(__file__).resolve().parents[1]
FAKE_APP = """\
import runpy
import sys

sys.path.insert(0, {repo!r})
import torch

torch.set_num_threads(1)
from tests.support.fakes import fake_specs
from visualiser.models import registry

for spec in fake_specs():
    registry.register(spec)
runpy.run_path({app!r}, run_name="__main__")
"""


def write_fake_app(directory: Path) -> Path:
    """A launcher that registers the fake models, then runs ``app.py`` exactly as ``python app.py`` would."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fake_app.py"
    path.write_text(FAKE_APP.format(repo=str(REPO), app=str(REPO / "app.py")))
    return path


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_nonce_changes_the_bytes_but_not_the_pixels():
    pixels = np.random.default_rng(1).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    original = _png(pixels)
    a, b = with_nonce(original, "aaaa"), with_nonce(original, "bbbb")
    assert len({original, a, b}) == 3  # three different files for the server's content-keyed cache
    for data, nonce in ((a, "aaaa"), (b, "bbbb")):
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a CRC error in the inserted chunk would raise here
            assert image.text == {"loadtest": nonce}
            np.testing.assert_array_equal(np.asarray(image), pixels)
    with pytest.raises(ValueError):
        with_nonce(b"GIF89a" + bytes(20), "x")


def test_answers_compare_labels_exactly_and_numbers_within_tolerance():
    summary = {"model": "m", "geometry": {"original_size": [96, 96]}, "probabilities": [0.5, 0.25, 0.25]}
    base = Answer(top=(("cat", 0.5), ("dog", 0.25)), has_overlay=True, summary=summary)
    assert same_answer(base, Answer(((("cat", 0.5 + 4e-6), ("dog", 0.25))), True, summary))
    assert not same_answer(base, Answer((("cat", 0.5 + 3e-5), ("dog", 0.25)), True, summary))
    assert not same_answer(base, Answer((("dog", 0.5), ("cat", 0.25)), True, summary))
    assert not same_answer(base, Answer(base.top, False, summary))
    moved = {**summary, "geometry": {"original_size": [96, 97]}}
    assert not same_answer(base, Answer(base.top, True, moved))
    assert not same_values({"a": 1}, {"a": 1, "b": 2})
    assert not same_values([1.0, 2.0], [1.0])
    assert not same_values(True, 1) and same_values(False, False)
    assert same_values(float("nan"), float("nan"))


def test_answer_ignores_only_the_timings():
    label = {"label": "cat", "confidences": [{"label": "cat", "confidence": 0.9}, {"label": "dog", "confidence": 0.1}]}
    summary = {"model": "m", "timings": {"forward_s": 0.01}, "blocks": []}
    answer = loadtest.answer_from((label, None, summary))
    assert answer.top == (("cat", 0.9), ("dog", 0.1)) and not answer.has_overlay
    assert answer.summary == {"model": "m", "blocks": []}
    slower = loadtest.answer_from((label, None, {**summary, "timings": {"forward_s": 9.0}}))
    assert same_answer(answer, slower)


def test_percentile_matches_numpy():
    values = list(np.random.default_rng(2).exponential(1.0, 37))
    for q in (0, 5, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert math.isnan(percentile([], 50))


def test_memory_figures_come_from_proc():
    figures = loadtest.memory_kb(os.getpid())
    if not figures:
        pytest.skip("no /proc on this system")
    assert 0 < figures["VmRSS"] <= figures["VmHWM"]
    assert loadtest.memory_kb(2**22 + 12345) == {}  # beyond pid_max: no such process


def test_report_applies_every_target():
    good = LoadReport(2, 2, "m", 2, sent=4, completed=4, rss_before_mb=100.0, rss_after_mb=105.0)
    assert good.passed
    assert not LoadReport(2, 2, "m", 2, sent=4, completed=3, failures=1, rss_before_mb=100, rss_after_mb=100).passed
    assert not LoadReport(2, 2, "m", 2, sent=4, completed=4, mismatches=1, rss_before_mb=100, rss_after_mb=100).passed
    assert not LoadReport(2, 2, "m", 2, sent=4, completed=4, rss_before_mb=100.0, rss_after_mb=111.0).passed
    assert LoadReport(2, 2, "m", 2, sent=4, completed=3, busy=1, rss_before_mb=100, rss_after_mb=100).passed
    assert json.loads(json.dumps(good.to_json()))["passed"] is True


def test_bad_arguments_are_refused_before_any_server_starts(capsys):
    assert loadtest.main(["--clients", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    with pytest.raises(SystemExit) as exit_info:
        loadtest.main(["--clients", "many"])
    assert exit_info.value.code == 2


@pytest.mark.server
def test_small_load_run_has_no_failures_and_no_mismatches(tmp_path, capsys):
    app = write_fake_app(tmp_path / "app")
    report_path = tmp_path / "report.json"
    argv = ["--clients", "4", "--requests", "3", "--inputs", "4", "--model", "fake_cbam", "--timeout-s", "240"]
    code = loadtest.main([*argv, "--app", str(app), "--json", str(report_path)])
    printed = capsys.readouterr().out
    report = json.loads(report_path.read_text())
    assert code == 0, printed
    assert report["sent"] == report["completed"] == 12
    assert report["failures"] == 0 and report["mismatches"] == 0 and report["busy"] == 0
    assert report["indistinct_input_pairs"] == 0  # the four inputs' answers differ, so a mix-up would show
    assert 0 < report["latency_p50_s"] <= report["latency_p95_s"] <= report["latency_max_s"]
    assert report["rss_before_mb"] > 0 and report["hwm_after_mb"] >= report["rss_after_mb"]
    assert "PASS" in printed
    assert report["server_files_left"] > 0 and not Path(report["server_folder"]).exists()  # outputs removed
