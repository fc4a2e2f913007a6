"""Load test: many API clients at once against a real ``app.py`` server, checked against solo answers.

``python -m tools.loadtest --clients 16 --requests 20`` starts the app as a subprocess on a free
loopback port with its own temporary folders, sends every distinct input once from one client (the
solo answers, which also warm the model up), then lets N client threads send M requests each. Every
answer must equal the solo answer for the same input: a difference means one request saw another's
data. Each concurrent request carries its own bytes (a PNG text chunk with a nonce, same pixels), so the
server's result cache cannot answer it and every request runs the network.

The report gives failures, mismatches, "busy" answers (a full queue, which is the server protecting
itself, so it is counted apart from failures), latency percentiles, throughput and the server's resident
memory before and after (``VmRSS`` / ``VmHWM`` from ``/proc``). Nothing leaves the machine: the server binds
127.0.0.1, Hugging Face Hub is set offline, telemetry is off, and the run stops by itself at ``--timeout-s``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from visualiser.errors import VisualiserError

REPO_ROOT = Path(__file__).resolve().parents[1]
APP_PATH = REPO_ROOT / "app.py"
ENDPOINT = "/analyse_image"
TOLERANCE = 1e-5
RSS_GROWTH_TARGET = 0.10
MAX_MESSAGES = 10
VOLATILE_SUMMARY_KEYS = frozenset({"timings"})  # wall-clock times differ between runs by nature


@dataclass(frozen=True)
class LoadConfig:
    """What one load-test run does."""

    clients: int = 16
    requests: int = 20
    model: str | None = None  # None: the server's own default for the endpoint
    inputs: int = 6
    timeout_s: float = 600.0
    startup_timeout_s: float = 180.0
    app: Path = APP_PATH


@dataclass
class LoadReport:
    """Figures from one run; ``passed`` applies the targets (no failures, no mismatches, RSS growth ≤ 10 %)."""

    clients: int
    requests_per_client: int
    model: str
    distinct_inputs: int
    sent: int = 0
    completed: int = 0
    failures: int = 0
    busy: int = 0
    mismatches: int = 0
    not_sent: int = 0
    indistinct_input_pairs: int = 0  # pairs of inputs with equal solo answers: a leak between them would hide
    wall_s: float = 0.0
    throughput_rps: float = 0.0
    latency_p50_s: float = math.nan
    latency_p95_s: float = math.nan
    latency_max_s: float = math.nan
    rss_before_mb: float = math.nan
    rss_after_mb: float = math.nan
    rss_halfway_mb: float = math.nan  # when half the requests had completed: a leak keeps growing after it
    hwm_before_mb: float = math.nan
    hwm_after_mb: float = math.nan
    server_files_left: int = 0
    server_bytes_left: int = 0
    server_folder: str = ""  # the server's temporary folders, deleted when it stops
    messages: list[str] = field(default_factory=list)

    @property
    def rss_growth(self) -> float:
        """Relative growth of resident memory over the concurrent phase."""
        return self.rss_after_mb / self.rss_before_mb - 1.0

    @property
    def passed(self) -> bool:
        return (
            self.failures == 0
            and self.mismatches == 0
            and self.not_sent == 0
            and self.indistinct_input_pairs == 0
            and self.completed + self.busy == self.sent
            and self.rss_growth <= RSS_GROWTH_TARGET
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth": self.rss_growth, "passed": self.passed}

    def text(self) -> str:
        """A short human-readable report."""
        lines = [
            f"load test: {self.clients} clients × {self.requests_per_client} requests, model {self.model}, "
            f"{self.distinct_inputs} distinct inputs",
            f"  sent {self.sent}, completed {self.completed}, failures {self.failures}, busy (queue full) "
            f"{self.busy}, mismatches {self.mismatches}, not sent (time limit) {self.not_sent}, "
            f"pairs of inputs with identical solo answers {self.indistinct_input_pairs}",
            f"  latency p50 {self.latency_p50_s:.3f} s, p95 {self.latency_p95_s:.3f} s, max {self.latency_max_s:.3f} s;"
            f" throughput {self.throughput_rps:.2f} requests/s over {self.wall_s:.1f} s",
            f"  server RSS {self.rss_before_mb:.0f} MB before, {self.rss_halfway_mb:.0f} MB halfway, "
            f"{self.rss_after_mb:.0f} MB after "
            f"({100 * self.rss_growth:+.1f} %, target ≤ {100 * RSS_GROWTH_TARGET:.0f} %); peak (VmHWM) "
            f"{self.hwm_before_mb:.0f} MB before, {self.hwm_after_mb:.0f} MB after",
            f"  files the server left in its temporary folders: {self.server_files_left} "
            f"({self.server_bytes_left / 1e6:.1f} MB; removed with the folders)",
        ]
        lines += [f"  - {m}" for m in self.messages]
        lines.append("PASS" if self.passed else "FAIL")
        return "\n".join(lines)


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process in kB (Linux ``/proc``); empty where ``/proc`` has no such file."""
    status = Path(f"/proc/{pid}/status")
    if not status.is_file():
        return {}
    out = {}
    for line in status.read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


class AppServer:
    """``app.py`` (or another launcher script) in a subprocess on 127.0.0.1, with private temporary folders.

    Gradio's cache (``GRADIO_TEMP_DIR``) and the handlers' outputs (``TMPDIR``) go into one folder that is
    deleted on exit, so a run leaves nothing behind. Used as a context manager.
    """

    def __init__(self, app: Path = APP_PATH, startup_timeout_s: float = 180.0, env: dict[str, str] | None = None):
        self.app = Path(app)
        self.startup_timeout_s = startup_timeout_s
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.extra_env = dict(env or {})
        self.folder = Path(tempfile.mkdtemp(prefix="visualiser-loadtest-"))
        self.gradio_dir = self.folder / "gradio"
        self.tmp_dir = self.folder / "tmp"
        self.log_path = self.folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AppServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the server is not running")
        return self.process.pid

    def start(self) -> None:
        """Launch and wait until ``/gradio_api/info`` answers."""
        if not self.app.is_file():
            raise VisualiserError(f"cannot start the app: {self.app} does not exist")
        self.gradio_dir.mkdir()
        self.tmp_dir.mkdir()
        env = {
            **os.environ,
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_TEMP_DIR": str(self.gradio_dir),
            "TMPDIR": str(self.tmp_dir),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(self.app)], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise VisualiserError(
                    f"the app exited with status {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + "gradio_api/info", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet
            time.sleep(0.5)
        self.stop()
        raise VisualiserError(f"the app did not answer within {self.startup_timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server printed (its log lives in the temporary folder)."""
        if not self.log_path.is_file():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def files_left(self) -> tuple[int, int]:
        """How many files, and bytes, the server has written into its temporary folders so far."""
        count = size = 0
        for root in (self.gradio_dir, self.tmp_dir):
            for path in root.rglob("*"):
                if path.is_file():
                    count += 1
                    size += path.stat().st_size
        return count, size

    def stop(self) -> None:
        """Terminate the server (kill it if it lingers) and delete its temporary folders."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        shutil.rmtree(self.folder, ignore_errors=True)


# --- inputs and answers ----------------------------------------------------------------------------


def write_inputs(directory: Path, count: int) -> list[Path]:
    """``count`` distinct PNGs from the shapes generator, each a different size so their geometry differs too."""
    from PIL import Image

    from visualiser.data.shapes import make_sample, sample_rng

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        sample = make_sample(sample_rng(2024, index), size=96 + 8 * index)
        path = directory / f"input{index}.png"
        Image.fromarray(sample.image).save(path)
        paths.append(path)
    return paths


def with_nonce(png: bytes, nonce: str) -> bytes:
    """The same PNG with a ``tEXt`` chunk carrying ``nonce`` after the header: identical pixels, new bytes."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG that starts with its IHDR chunk")
    header_end = 8 + 8 + struct.unpack(">I", png[8:12])[0] + 4
    payload = b"loadtest\x00" + nonce.encode("ascii")
    chunk = struct.pack(">I", len(payload)) + b"tEXt" + payload + struct.pack(">I", zlib.crc32(b"tEXt" + payload))
    return png[:header_end] + chunk + png[header_end:]


@dataclass(frozen=True)
class Answer:
    """What ``/analyse_image`` returned, minus what legitimately varies (timings, file names)."""

    top: tuple[tuple[str, float], ...]
    has_overlay: bool
    summary: dict[str, Any]


def answer_from(result: Sequence[Any]) -> Answer:
    """Normalise the client's ``(label, overlay, summary)`` tuple."""
    label, overlay, summary = result
    top = tuple((str(c["label"]), float(c["confidence"])) for c in label["confidences"])
    stable = {k: v for k, v in summary.items() if k not in VOLATILE_SUMMARY_KEYS}
    return Answer(top=top, has_overlay=overlay is not None, summary=stable)


def same_values(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    """Structural equality of JSON values, numbers within ``tolerance`` (booleans and strings exactly)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=0.0, abs_tol=tolerance) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_values(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return a == b


def same_answer(a: Answer, b: Answer, tolerance: float = TOLERANCE) -> bool:
    """Top-5 labels equal, their probabilities within ``tolerance``, same overlay presence, same summary."""
    return (
        [name for name, _ in a.top] == [name for name, _ in b.top]
        and same_values([p for _, p in a.top], [p for _, p in b.top], tolerance)
        and a.has_overlay == b.has_overlay
        and same_values(a.summary, b.summary, tolerance)
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between order statistics; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- the run -------------------------------------------------------------------------------------------


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _server_default_model(client: Any) -> str:
    info = client.view_api(print_info=False, return_format="dict")
    for parameter in info["named_endpoints"][ENDPOINT]["parameters"]:
        if parameter["parameter_name"] == "model" and parameter.get("parameter_default"):
            return str(parameter["parameter_default"])
    raise VisualiserError(f"the server's {ENDPOINT} has no default model; pass --model")


class _Tally:
    """Counters shared by the client threads."""

    def __init__(self, report: LoadReport, server_pid: int, total: int) -> None:
        self.report = report
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.server_pid = server_pid
        self.halfway = max(1, total // 2)

    def note(self, message: str) -> None:
        with self.lock:
            if message not in self.report.messages and len(self.report.messages) < MAX_MESSAGES:
                self.report.messages.append(message)


def _one_request(client: Any, png: Path, model: str, timeout_s: float) -> Any:
    from gradio_client import handle_file

    job = client.submit(handle_file(str(png)), model, api_name=ENDPOINT)
    return job.result(timeout=timeout_s)


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
    from gradio_client.exceptions import AppError
    from gradio_client.utils import QueueError

    report = tally.report
    try:
        client = _client(url)
    except Exception as exc:  # noqa: BLE001 - a load test counts every way a client can fail, it never crashes
        with tally.lock:
            report.failures += config.requests
            report.sent += config.requests
        tally.note(f"client {index} could not connect: {type(exc).__name__}: {exc}")
        return
    originals = [p.read_bytes() for p in inputs]
    for request in range(config.requests):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            with tally.lock:
                report.not_sent += config.requests - request
            return
        which = (index + request) % len(inputs)
        path = scratch / f"c{index}-r{request}.png"
        path.write_bytes(with_nonce(originals[which], uuid.uuid4().hex))
        with tally.lock:
            report.sent += 1
        started = time.monotonic()
        try:
            answer = answer_from(_one_request(client, path, model, remaining))
        except QueueError:
            with tally.lock:
                report.busy += 1
            continue
        except AppError as exc:
            with tally.lock:
                report.failures += 1
            tally.note(f"error answer: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - timeouts, dropped connections: all counted as failures
            with tally.lock:
                report.failures += 1
            tally.note(f"{type(exc).__name__}: {exc}")
            continue
        finally:
            path.unlink(missing_ok=True)
        elapsed = time.monotonic() - started
        matches = same_answer(answer, solo[which])
        with tally.lock:
            report.completed += 1
            report.mismatches += not matches
            tally.latencies.append(elapsed)
            if report.completed == tally.halfway:
                report.rss_halfway_mb = memory_kb(tally.server_pid).get("VmRSS", 0) / 1024
        if not matches:
            tally.note(f"mismatch on input {which}: top-5 {answer.top} vs solo {solo[which].top}")


def run_load(config: LoadConfig) -> LoadReport:
    """Start the server, take solo answers, run the concurrent phase, measure; always stops the server."""
    if config.clients < 1 or config.requests < 1 or config.inputs < 1:
        raise VisualiserError("clients, requests and inputs must each be at least 1")
    deadline = time.monotonic() + config.timeout_s
    with (
        tempfile.TemporaryDirectory(prefix="visualiser-loadtest-inputs-") as work,
        AppServer(config.app, config.startup_timeout_s) as server,
    ):
        inputs = write_inputs(Path(work) / "inputs", config.inputs)
        scratch = Path(work) / "requests"
        scratch.mkdir()
        solo_client = _client(server.url)
        model = config.model or _server_default_model(solo_client)
        report = LoadReport(config.clients, config.requests, model, len(inputs))
        solo = []
        for path in inputs:  # the first one also loads the model, so "before" excludes loading
            try:
                solo.append(answer_from(_one_request(solo_client, path, model, deadline - time.monotonic())))
            except Exception as exc:  # reported as one clear failure instead of a traceback
                raise VisualiserError(
                    f"the solo request for {path.name} with model {model!r} failed: {type(exc).__name__}: {exc}"
                ) from exc
        report.indistinct_input_pairs = sum(
            same_answer(solo[i], solo[j]) for i in range(len(solo)) for j in range(i + 1, len(solo))
        )
        before = memory_kb(server.pid)
        tally = _Tally(report, server.pid, config.clients * config.requests)
        threads = [
            threading.Thread(
                target=_worker,
                name=f"load-client-{i}",
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
            tally.note("some client threads were still waiting at the time limit")
        report.latency_p50_s = percentile(tally.latencies, 50)
        report.latency_p95_s = percentile(tally.latencies, 95)
        report.latency_max_s = max(tally.latencies, default=math.nan)
        report.throughput_rps = report.completed / report.wall_s if report.wall_s > 0 else math.nan
        report.rss_before_mb, report.rss_after_mb = before.get("VmRSS", 0) / 1024, after.get("VmRSS", 0) / 1024
        report.hwm_before_mb, report.hwm_after_mb = before.get("VmHWM", 0) / 1024, after.get("VmHWM", 0) / 1024
        report.server_files_left, report.server_bytes_left = server.files_left()
        report.server_folder = str(server.folder)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.loadtest``: 0 when the targets are met, 1 when not, 2 when it could not run."""
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--model", default=None, help="image model (default: the server's default)")
    parser.add_argument("--inputs", type=int, default=6, help="distinct generated images")
    parser.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    parser.add_argument("--timeout-s", type=float, default=600.0, help="the whole run stops after this long")
    parser.add_argument("--app", type=Path, default=APP_PATH, help="the script that serves the app")
    args = parser.parse_args(argv)
    config = LoadConfig(
        clients=args.clients,
        requests=args.requests,
        model=args.model,
        inputs=args.inputs,
        timeout_s=args.timeout_s,
        app=args.app,
    )
    try:
        report = run_load(config)
    except VisualiserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report.text())
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
