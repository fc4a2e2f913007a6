"""One load-test run: start the counted server, take solo answers, run N visitors × M requests, measure.

The server is started through ``tools.forward_counter``, so every forward pass of a network it runs is
written to a file; the run reads it after the solo pass and after the concurrent phase and compares the
passes with the answered requests (one each: a second pass means a result was lost between the public
event and the views, a missing one that an answer came from a cache that should not have had it).
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from tools.forward_counter import read_forward_counts
from tools.loadtest.answers import Answer, answer_from, percentile, same_answer, with_nonce, write_inputs
from tools.loadtest.report import MAX_MESSAGES, LoadConfig, LoadReport
from tools.loadtest.visitors import Busy, ErrorAnswer, server_default_model, visitor
from tools.server import AppServer, memory_kb
from visualiser.errors import VisualiserError

FORWARD_COUNTER = "tools.forward_counter"


class _Tally:
    """Counters shared by the visitor threads."""

    def __init__(self, report: LoadReport, server_pid: int, total: int) -> None:
        self.report = report
        self.latencies: list[float] = []
        self.follow_ups = 0
        self.lock = threading.Lock()
        self.server_pid = server_pid
        self.halfway = max(1, total // 2)

    def note(self, message: str) -> None:
        with self.lock:
            if message not in self.report.messages and len(self.report.messages) < MAX_MESSAGES:
                self.report.messages.append(message)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self.report, name, getattr(self.report, name) + value)


def _worker(
    index: int,
    url: str,
    config: LoadConfig,
    model: str,
    inputs: list[Path],
    solo: list[Answer],
    tally: _Tally,
    deadline: float,
    scratch: Path,
) -> None:
    try:
        guest = visitor(config.flow, url)
    except Exception as exc:  # noqa: BLE001 - a load test counts every way a client can fail, it never crashes
        tally.add(failures=config.requests, sent=config.requests)
        tally.note(f"visitor {index} could not connect: {type(exc).__name__}: {exc}")
        return
    originals = [p.read_bytes() for p in inputs]
    try:
        for request in range(config.requests):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tally.add(not_sent=config.requests - request)
                return
            which = (index + request) % len(inputs)
            path = scratch / f"c{index}-r{request}.png"
            path.write_bytes(with_nonce(originals[which], uuid.uuid4().hex))
            tally.add(sent=1)
            started = time.monotonic()
            try:
                answer = answer_from(guest.analyse(path, model, remaining))
            except Busy:
                tally.add(busy=1)
                continue
            except ErrorAnswer as exc:
                tally.add(failures=1)
                tally.note(f"error answer: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - timeouts, dropped connections: all counted as failures
                tally.add(failures=1)
                tally.note(f"{type(exc).__name__}: {exc}")
                continue
            finally:
                path.unlink(missing_ok=True)
            elapsed = time.monotonic() - started
            matches = same_answer(answer, solo[which])
            with tally.lock:
                tally.report.completed += 1
                tally.report.mismatches += not matches
                tally.latencies.append(elapsed)
                if tally.report.completed == tally.halfway:
                    tally.report.rss_halfway_mb = memory_kb(tally.server_pid).get("VmRSS", 0) / 1024
            if not matches:
                tally.note(f"mismatch on input {which}: top-5 {answer.top} vs solo {solo[which].top}")
    finally:
        with tally.lock:
            tally.follow_ups += guest.follow_ups
        guest.close()


def _forwards(count_file: Path) -> Counter[str]:
    counts = read_forward_counts(count_file)
    if counts is None:
        raise VisualiserError(f"the server is not counting its forward passes ({count_file} was never written)")
    return counts


def _solo_answers(url: str, config: LoadConfig, model: str, inputs: list[Path], deadline: float) -> list[Answer]:
    """Each input once, from one visitor: the reference answers (the first request also loads the model)."""
    try:
        guest = visitor(config.flow, url)
    except Exception as exc:  # the server is up but does not talk like the app: say so in one sentence
        raise VisualiserError(f"could not open a {config.flow} visitor on {url}: {type(exc).__name__}: {exc}") from exc
    try:
        answers = []
        for path in inputs:
            try:
                answers.append(answer_from(guest.analyse(path, model, deadline - time.monotonic())))
            except Exception as exc:  # reported as one clear failure instead of a traceback
                raise VisualiserError(
                    f"the solo request for {path.name} with model {model!r} failed: {type(exc).__name__}: {exc}"
                ) from exc
        return answers
    finally:
        guest.close()


def run_load(config: LoadConfig) -> LoadReport:
    """Start the server, take solo answers, run the concurrent phase, measure; always stops the server."""
    if config.clients < 1 or config.requests < 1 or config.inputs < 1:
        raise VisualiserError("clients, requests and inputs must each be at least 1")
    deadline = time.monotonic() + config.timeout_s
    with tempfile.TemporaryDirectory(prefix="visualiser-loadtest-inputs-") as work:
        if not Path(config.app).is_file():
            raise VisualiserError(f"cannot start the app: {config.app} does not exist")
        count_file = Path(work) / "forwards.txt"
        launch = [str(count_file), str(config.app)]
        with AppServer(None, module=FORWARD_COUNTER, args=launch, startup_timeout_s=config.startup_timeout_s) as server:
            inputs = write_inputs(Path(work) / "inputs", config.inputs)
            scratch = Path(work) / "requests"
            scratch.mkdir()
            model = config.model or server_default_model(server.url)
            report = LoadReport(config.clients, config.requests, model, len(inputs), flow=config.flow)
            before_solo = _forwards(count_file).total()
            solo = _solo_answers(server.url, config, model, inputs, deadline)
            report.indistinct_input_pairs = sum(
                same_answer(solo[i], solo[j]) for i in range(len(solo)) for j in range(i + 1, len(solo))
            )
            after_solo = _forwards(count_file)
            report.solo_forwards = after_solo.total() - before_solo
            before = memory_kb(server.pid)
            tally = _Tally(report, server.pid, config.clients * config.requests)
            threads = [
                threading.Thread(
                    target=_worker,
                    name=f"load-visitor-{i}",
                    daemon=True,
                    args=(i, server.url, config, model, inputs, solo, tally, deadline, scratch),
                )
                for i in range(config.clients)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()) + 30.0)
            report.wall_s = time.monotonic() - started
            after = memory_kb(server.pid)
            if any(t.is_alive() for t in threads):
                tally.note("some visitor threads were still waiting at the time limit")
            final = _forwards(count_file)
            report.forwards = final.total() - after_solo.total()
            report.forwards_by_model = dict(final - after_solo)
            report.follow_up_events = tally.follow_ups
            report.latency_p50_s = percentile(tally.latencies, 50)
            report.latency_p95_s = percentile(tally.latencies, 95)
            report.latency_max_s = max(tally.latencies, default=math.nan)
            report.throughput_rps = report.completed / report.wall_s if report.wall_s > 0 else math.nan
            report.rss_before_mb, report.rss_after_mb = before.get("VmRSS", 0) / 1024, after.get("VmRSS", 0) / 1024
            report.hwm_before_mb, report.hwm_after_mb = before.get("VmHWM", 0) / 1024, after.get("VmHWM", 0) / 1024
            report.server_files_left, report.server_bytes_left = server.files_left()
            report.server_folder = str(server.folder)
    return report
