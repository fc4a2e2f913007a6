"""One harness for the dev tools and the server tests: the app (or the echo app) in a subprocess on 127.0.0.1.

``AppServer`` starts ``python app.py`` (or any launcher script, or ``python -m tools.echo_app``) on a free
loopback port with its own temporary folders (Gradio's cache in ``GRADIO_TEMP_DIR``, the views' outputs in
``TMPDIR``) and its output in a log file beside them, waits until the page answers, and says why when it
does not (the exit status or the time limit, with the last lines the server printed). It reads the
server's memory from ``/proc`` and stops it (terminate, then kill) and deletes its folders on exit, so a run
leaves nothing behind. Nothing leaves the machine: Hugging Face Hub is offline and telemetry is off.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from visualiser.errors import VisualiserError
from visualiser.paths import APP_PATH, REPO_ROOT

ECHO_MODULE = "tools.echo_app"
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process in kB (Linux ``/proc``); empty where ``/proc`` has no such file.

    VmHWM, not ``ru_maxrss``: Linux keeps ``ru_maxrss`` across ``exec``, so a big parent would inflate it.
    """
    status = Path(f"/proc/{pid}/status")
    try:
        text = status.read_text()
    except OSError:  # no such process, or no /proc on this system
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


@dataclass(frozen=True)
class Memory:
    """Resident memory now (``VmRSS``) and at its peak so far (``VmHWM``), in MB; NaN where unreadable."""

    rss_mb: float
    hwm_mb: float

    @classmethod
    def of(cls, pid: int) -> Memory:
        figures = memory_kb(pid)
        rss, hwm = figures.get("VmRSS"), figures.get("VmHWM")
        return cls(math.nan if rss is None else rss / 1024, math.nan if hwm is None else hwm / 1024)


class AppServer:
    """A Gradio server in a subprocess on 127.0.0.1, with private temporary folders; a context manager.

    ``script`` is run as ``python SCRIPT *args`` (default: ``app.py``); ``module`` instead runs
    ``python -m MODULE *args`` (``AppServer.echo()`` is the do-nothing echo app). ``startup_s`` is the time
    from starting the process to the first answer of ``ready_path``.
    """

    def __init__(
        self,
        script: Path | str | None = APP_PATH,
        *,
        module: str | None = None,
        args: Sequence[str] = (),
        startup_timeout_s: float = 180.0,
        env: dict[str, str] | None = None,
        ready_path: str = "",
    ) -> None:
        if (script is None) == (module is None):
            raise ValueError("give either a script or a module to run")
        self.command = ["-m", module] if module is not None else [str(script)]
        self.command += list(args)
        self.script = None if script is None else Path(script)
        self.startup_timeout_s = startup_timeout_s
        self.ready_path = ready_path.lstrip("/")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.extra_env = dict(env or {})
        self.folder = Path(tempfile.mkdtemp(prefix="visualiser-server-"))
        self.gradio_dir = self.folder / "gradio"
        self.tmp_dir = self.folder / "tmp"
        self.log_path = self.folder / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s = float("nan")

    @classmethod
    def echo(cls, startup_timeout_s: float = 60.0) -> AppServer:
        """The do-nothing app with ``/analyse_image``'s signature (the benchmark's floor)."""
        return cls(None, module=ECHO_MODULE, startup_timeout_s=startup_timeout_s)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def name(self) -> str:
        return " ".join(self.command)

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the server is not running")
        return self.process.pid

    def environment(self) -> dict[str, str]:
        """What the server runs with: loopback, a fixed port, private folders, offline, no telemetry."""
        return {
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

    def start(self) -> None:
        """Launch and wait until ``ready_path`` answers 200; on failure the server is stopped and its log quoted."""
        if self.script is not None and not self.script.is_file():
            raise VisualiserError(f"cannot start the app: {self.script} does not exist")
        self.gradio_dir.mkdir(exist_ok=True)
        self.tmp_dir.mkdir(exist_ok=True)
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *self.command],
                cwd=REPO_ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout_s
        while time.perf_counter() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise VisualiserError(
                    f"{self.name} exited with status {self.process.returncode} while starting:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=5) as response:
                    if response.status == 200:
                        self.startup_s = time.perf_counter() - started
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass  # not listening yet
            time.sleep(0.1)
        raise VisualiserError(
            f"{self.name} did not answer {self.url}{self.ready_path} within {self.startup_timeout_s:.0f} s:\n"
            f"{self.log_tail()}"
        )

    def memory(self) -> Memory:
        """The server's resident memory now and at its peak (``/proc``)."""
        return Memory.of(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the server printed (its log lives in the temporary folder until it stops)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server output)"
        return "\n".join(text.splitlines()[-lines:]) or "(no server output)"

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
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.folder, ignore_errors=True)
