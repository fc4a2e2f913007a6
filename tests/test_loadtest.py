"""The load test: its pieces checked against independent computations, and runs against the real app.

The runs launch ``app.py`` as a subprocess with the seeded random models of ``tests/support/fakes.py``
registered first (``write_fake_app``), so they need no trained weights, and count the server's forward
passes (``tools.forward_counter``). Twelve visitors, each request with its own bytes, keep more distinct
results alive at once than the views' result cache holds (8), so a view that looked the result up again
instead of receiving it would run the network a second time and the count would show it.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tools import loadtest
from tools.forward_counter import counting_forwards, read_forward_counts
from tools.forward_counter import main as counted_main
from tools.loadtest import Answer, LoadReport, percentile, same_answer, same_values, with_nonce
from tools.server import AppServer, Memory, memory_kb
from visualiser.errors import VisualiserError
from visualiser.paths import REPO_ROOT
from visualiser.ui.views.cache import IMAGE_RESULTS

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
VIEWS_CACHE_SIZE = IMAGE_RESULTS.size  # the load runs use more visitors than this


def write_fake_app(directory: Path) -> Path:
    """A launcher that registers the fake models, then runs ``app.py`` exactly as ``python app.py`` would."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "fake_app.py"
    path.write_text(FAKE_APP.format(repo=str(REPO_ROOT), app=str(REPO_ROOT / "app.py")))
    return path


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


# --- inputs, answers, the report -------------------------------------------------------------------------


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


def test_answer_ignores_only_the_timings_and_the_uploads_name():
    label = {"label": "cat", "confidences": [{"label": "cat", "confidence": 0.9}, {"label": "dog", "confidence": 0.1}]}
    summary = {"model": "m", "timings": {"forward_s": 0.01}, "blocks": []}
    answer = loadtest.answer_from((label, None, summary))
    assert answer.top == (("cat", 0.9), ("dog", 0.1)) and not answer.has_overlay
    assert answer.summary == {"model": "m", "blocks": []}
    upload = {"source": "b.png", "source_sha1": "ab"}
    slower = loadtest.answer_from((label, None, {**summary, "timings": {"forward_s": 9.0}, **upload}))
    assert same_answer(answer, slower)
    other = loadtest.answer_from((label, None, {**summary, "model": "n"}))
    assert not same_answer(answer, other)


def test_percentile_matches_numpy():
    values = list(np.random.default_rng(2).exponential(1.0, 37))
    for q in (0, 5, 50, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert math.isnan(percentile([], 50))


def test_memory_figures_come_from_proc():
    figures = memory_kb(os.getpid())
    if not figures:
        pytest.skip("no /proc on this system")
    assert 0 < figures["VmRSS"] <= figures["VmHWM"]
    ours = Memory.of(os.getpid())
    assert 0 < ours.rss_mb <= ours.hwm_mb
    assert memory_kb(2**22 + 12345) == {}  # beyond pid_max: no such process
    assert math.isnan(Memory.of(2**22 + 12345).rss_mb)


def _report(**figures: object) -> LoadReport:
    base = {"sent": 4, "completed": 4, "solo_forwards": 2, "forwards": 4, "rss_before_mb": 100.0, "rss_after_mb": 105.0}
    return LoadReport(2, 2, "m", 2, **{**base, **figures})  # type: ignore[arg-type]


def test_report_applies_every_target():
    good = _report()
    assert good.passed and good.one_forward_per_request
    assert not _report(completed=3, failures=1, forwards=3).passed
    assert not _report(mismatches=1).passed
    assert not _report(rss_after_mb=111.0).passed
    assert _report(completed=3, busy=1, forwards=3).passed  # a full queue protects the server: not a failure
    assert not _report(forwards=5).passed  # a request that ran the network twice
    assert not _report(forwards=3).passed  # an answer that did not come from its own forward pass
    assert not _report(solo_forwards=3).passed
    assert not _report(forwards=-1).passed  # not counted is not proven
    report = json.loads(json.dumps(good.to_json()))
    assert report["passed"] is True and report["one_forward_per_request"] is True
    assert "forward passes on the server: 4 for 4" in good.text()


def test_bad_arguments_are_refused_before_any_server_starts(capsys, tmp_path):
    assert loadtest.main(["--clients", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert loadtest.main(["--app", str(tmp_path / "missing.py")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        loadtest.main(["--clients", "many"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        loadtest.main(["--flow", "teleport"])


# --- counting forward passes -----------------------------------------------------------------------------


@pytest.fixture()
def counted_model_name(fake_models):
    """A fake CBAM net under a name of its own, so its module is built inside the test (not taken from a cache)."""
    from tests.support.fakes import fake_specs
    from visualiser import pipeline
    from visualiser.models import registry

    spec = dataclasses.replace(next(s for s in fake_specs() if s.name == "fake_cbam"), name="counted_fake_cbam")
    registry.register(spec)
    try:
        yield spec.name
    finally:
        registry.unregister(spec.name)
        pipeline.forget_models([spec.name])


def test_every_forward_pass_of_a_loaded_model_is_counted_and_nothing_stays_registered(tmp_path, counted_model_name):
    from visualiser import pipeline
    from visualiser.models import loading

    count_file = tmp_path / "forwards.txt"
    assert read_forward_counts(count_file) is None  # not counting yet
    pixels = np.random.default_rng(3).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    with counting_forwards(count_file):
        assert read_forward_counts(count_file) == {}  # counting, nothing run yet
        loaded = pipeline.get_model(counted_model_name)
        pipeline.analyse_pixels(pixels, loaded)
        pipeline.analyse_pixels(pixels, loaded, gradcam=True)
        assert read_forward_counts(count_file) == {counted_model_name: 2}
        assert len(loaded.model._forward_hooks) == 1
    assert pipeline.models.create_model is loading.create_model
    assert len(loaded.model._forward_hooks) == 0
    pipeline.analyse_pixels(pixels, loaded)
    assert read_forward_counts(count_file) == {counted_model_name: 2}  # no longer counting


def test_the_warm_up_threads_passes_answer_no_request_and_are_not_counted(tmp_path, counted_model_name):
    import threading

    from visualiser import pipeline

    count_file = tmp_path / "forwards.txt"
    pixels = np.random.default_rng(4).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    with counting_forwards(count_file):
        loaded = pipeline.get_model(counted_model_name)
        warm = threading.Thread(target=pipeline.analyse_pixels, args=(pixels, loaded), name="warm-up")
        warm.start()
        warm.join()
        assert read_forward_counts(count_file) == {}
        pipeline.analyse_pixels(pixels, loaded)
        assert read_forward_counts(count_file) == {counted_model_name: 1}
    assert f"warm-up:{counted_model_name}" in count_file.read_text()


def test_counting_ends_cleanly_after_an_exception(tmp_path, counted_model_name):
    from visualiser import pipeline
    from visualiser.models import loading

    with pytest.raises(RuntimeError, match="part-way"), counting_forwards(tmp_path / "forwards.txt"):
        loaded = pipeline.get_model(counted_model_name)
        raise RuntimeError("failed part-way")
    assert pipeline.models.create_model is loading.create_model
    assert len(loaded.model._forward_hooks) == 0


def test_the_launcher_runs_a_script_as_main_with_its_forwards_counted(tmp_path, monkeypatch, counted_model_name):
    script = tmp_path / "serve.py"
    script.write_text(
        "import sys\nimport torch\nfrom visualiser import pipeline\n"
        "assert __name__ == '__main__' and sys.argv[1:] == ['--flag']\n"
        f"model = pipeline.get_model({counted_model_name!r}).model\n"
        "for _ in range(3):\n    model(torch.zeros(1, 3, 64, 64))\n"
    )
    monkeypatch.setattr("sys.argv", ["pytest"])
    counted_main([str(tmp_path / "n.txt"), str(script), "--flag"])
    assert read_forward_counts(tmp_path / "n.txt") == {counted_model_name: 3}
    with pytest.raises(SystemExit):
        counted_main([str(tmp_path / "n.txt")])


# --- the server harness -----------------------------------------------------------------------------------


def test_a_server_that_exits_while_starting_is_reported_with_its_output(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text("import sys\nprint('cannot bind: the port is taken')\nsys.exit(3)\n")
    server = AppServer(script, startup_timeout_s=60)
    with pytest.raises(VisualiserError) as info, server:
        pass
    message = str(info.value)
    assert "exited with status 3" in message and "cannot bind: the port is taken" in message
    assert not server.folder.exists()  # its private folders are gone
    with pytest.raises(VisualiserError, match="does not exist"):
        AppServer(tmp_path / "missing.py").start()


def test_a_server_that_never_answers_is_stopped_at_the_time_limit(tmp_path):
    script = tmp_path / "silent.py"
    script.write_text("import time\nprint('starting slowly', flush=True)\ntime.sleep(60)\n")
    server = AppServer(script, startup_timeout_s=1.0)
    with pytest.raises(VisualiserError, match="did not answer") as info:
        server.start()
    assert "starting slowly" in str(info.value)
    assert server.process is not None and server.process.poll() is not None  # terminated, not left running


# --- the page without a browser ----------------------------------------------------------------------------


def _dependency(id: int, targets: list, inputs: list, outputs: list, **extra: object) -> dict:
    return {"id": id, "targets": targets, "inputs": inputs, "outputs": outputs, "backend_fn": True, **extra}


def test_the_page_runs_then_chains_and_change_listeners_as_a_browser_does():
    from tools.loadtest.page import PageConfig

    config = PageConfig.from_json(
        {
            "components": [
                {"id": 1, "props": {"value": None}},
                {"id": 2, "props": {"value": "x"}},
                {"id": 3, "type": "state"},
            ],
            "dependencies": [
                _dependency(0, [[9, "click"]], [1], [2, 3], api_name="analyse_image"),
                _dependency(4, [[None, "then"]], [3], [1], trigger_after=0),
                _dependency(5, [[None, "success"]], [3], [1], trigger_after=0, trigger_only_on_success=True),
                _dependency(6, [[None, "failure"]], [3], [1], trigger_after=0, trigger_only_on_failure=True),
                _dependency(7, [[2, "change"]], [2], [1]),
                _dependency(8, [[2, "input"], [3, "change"]], [2], [1]),
                _dependency(10, [[None, "then"]], [3], [1], trigger_after=4),
            ],
        }
    )
    first = config.named("/analyse_image")
    assert first.id == 0 and config.initial_values == {1: None, 2: "x", 3: None} and config.state_ids == {3}
    ids = lambda deps: sorted(d.id for d in deps)  # noqa: E731
    assert ids(config.after(first, succeeded=True, changed=set())) == [4, 5]
    assert ids(config.after(first, succeeded=False, changed=set())) == [4, 6]
    assert ids(config.after(first, succeeded=True, changed={2})) == [4, 5, 7]  # "input" is the user's, not a change
    assert ids(config.after(first, succeeded=True, changed={2, 3})) == [4, 5, 7, 8]
    assert ids(config.after(config.dependencies[4], succeeded=True, changed=set())) == [10]
    with pytest.raises(KeyError):
        config.named("/nothing")


@pytest.fixture(scope="module")
def chained_demo():
    """A small Blocks app wired both ways the Image tab can be: ``.then`` with ``gr.State``, and ``.change``."""
    import gradio as gr

    from tools.server import free_port

    calls: list[tuple[str, object]] = []

    def analyse(text: str) -> tuple[str, dict, str]:
        calls.append(("analyse", text))
        if text == "bad":
            raise gr.Error("bad input")
        return text.upper(), {"text": text}, f"state:{text}"

    def from_state(state: str) -> str:
        calls.append(("then", state))
        return f"then {state}"

    def from_summary(summary: dict, text: str) -> str:
        calls.append(("change", (summary["text"], text)))
        return f"change {summary['text']}"

    def from_state_change(state: str) -> str:
        calls.append(("state change", state))
        return state

    with gr.Blocks(analytics_enabled=False) as demo:
        text, state = gr.Textbox(), gr.State(None)
        upper, summary, then_view, change_view, state_view = (gr.Textbox(), gr.JSON(), *(gr.Textbox() for _ in "abc"))
        run = gr.Button()
        run.click(analyse, [text], [upper, summary, state], api_name="analyse_image").then(
            from_state, [state], [then_view], api_visibility="private"
        )
        summary.change(from_summary, [summary, text], [change_view], api_visibility="private")
        state.change(from_state_change, [state], [state_view], api_visibility="private")
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        yield url, calls
    finally:
        demo.close()


def _every_event(text: str) -> list[tuple[str, object]]:
    """The calls one Analyse makes in ``chained_demo`` when its input is new, sorted by name."""
    return [("analyse", text), ("change", (text, text)), ("state change", f"state:{text}"), ("then", f"state:{text}")]


@pytest.mark.server
def test_the_page_visitor_runs_each_chained_event_once_with_the_state_it_left(chained_demo):
    from tools.loadtest.page import ErrorAnswer, PageVisitor

    url, calls = chained_demo
    page = PageVisitor.open(url, timeout_s=60)
    try:
        calls.clear()
        assert page.act("/analyse_image", ["cat"]) == ["CAT", {"text": "cat"}]  # State left out, as by the API
        assert sorted(calls, key=str) == _every_event("cat")
        calls.clear()
        page.act("/analyse_image", ["dog"])
        assert sorted(calls, key=str) == _every_event("dog")
        calls.clear()
        page.act("/analyse_image", ["dog"])  # the same summary and state again: no change events, as in a browser
        assert sorted(calls, key=str) == [("analyse", "dog"), ("then", "state:dog")]
        with pytest.raises(ErrorAnswer, match="bad input"):
            page.act("/analyse_image", ["bad"])
        assert len(page.events_run) == 4 + 4 + 2 + 2  # after a failure its .then step runs, as in a browser
    finally:
        page.close()


# --- runs against the real app ----------------------------------------------------------------------------


def _run(tmp_path: Path, flow: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict, str]:
    app = write_fake_app(tmp_path / "app")
    report_path = tmp_path / "report.json"
    # As many distinct inputs as the bounded result cache holds: the solo pass fills it, so the memory measured
    # over the concurrent phase is what load adds, not the cache's last free places (+3 % to +5 % of RSS alone).
    argv = ["--clients", "12", "--requests", "2", "--inputs", str(VIEWS_CACHE_SIZE), "--model", "fake_cbam"]
    argv += ["--timeout-s", "300"]
    code = loadtest.main([*argv, "--flow", flow, "--app", str(app), "--json", str(report_path)])
    return code, json.loads(report_path.read_text()), capsys.readouterr().out


@pytest.mark.server
def test_api_load_has_no_failures_no_mismatches_and_one_forward_per_request(tmp_path, capsys):
    code, report, printed = _run(tmp_path, "api", capsys)
    assert report["clients"] > VIEWS_CACHE_SIZE
    assert report["sent"] == report["completed"] == 24, printed
    assert report["failures"] == 0 and report["mismatches"] == 0 and report["busy"] == 0, printed
    assert report["indistinct_input_pairs"] == 0  # the inputs' answers all differ, so a mix-up would show
    assert report["solo_forwards"] == VIEWS_CACHE_SIZE and report["forwards"] == 24, printed
    assert report["forwards_by_model"] == {"fake_cbam": 24}
    assert 0 < report["latency_p50_s"] <= report["latency_p95_s"] <= report["latency_max_s"]
    assert report["rss_before_mb"] > 0 and report["hwm_after_mb"] >= report["rss_after_mb"]
    assert report["rss_growth"] <= loadtest.RSS_GROWTH_TARGET, printed  # app.py's own allocator settings, no variable
    assert code == 0, printed
    assert report["server_files_left"] > 0 and not Path(report["server_folder"]).exists()  # outputs removed


@pytest.mark.server
def test_page_load_runs_the_network_once_per_request_views_included(tmp_path, capsys):
    """The browser's flow: the Analyse button's one event, which answers with the analysis and every view on
    screen (the predictions, overlay and summary compared with the solo answers); the network runs once."""
    code, report, printed = _run(tmp_path, "page", capsys)
    assert report["completed"] == 24 and report["failures"] == 0 and report["mismatches"] == 0, printed
    assert report["follow_up_events"] == 0, printed  # one round trip: nothing chained after the click's event
    assert report["solo_forwards"] == VIEWS_CACHE_SIZE, printed
    assert report["forwards"] == report["completed"], printed
    assert report["rss_growth"] <= loadtest.RSS_GROWTH_TARGET, printed
    assert code == 0, printed
