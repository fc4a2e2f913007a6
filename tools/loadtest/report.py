"""What one load-test run does (``LoadConfig``) and what it found (``LoadReport``, with its pass rule)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from visualiser.paths import APP_PATH

RSS_GROWTH_TARGET = 0.10
MAX_MESSAGES = 10
Flow = Literal["api", "page"]
FLOWS: tuple[Flow, ...] = ("api", "page")


@dataclass(frozen=True)
class LoadConfig:
    """What one load-test run does.

    ``flow`` is how a request is sent: ``api`` calls ``/analyse_image`` through gradio_client, as an API
    user does; ``page`` does what the page does in a browser: it uploads the file, runs the Analyse button's
    event and then every event the page chains after it (``.change`` of its outputs, ``.then``).
    """

    clients: int = 16
    requests: int = 20
    model: str | None = None  # None: the server's own default for the endpoint
    inputs: int = 6
    timeout_s: float = 600.0
    startup_timeout_s: float = 180.0
    app: Path = APP_PATH
    flow: Flow = "api"


@dataclass
class LoadReport:
    """Figures from one run; ``passed`` applies the targets.

    Targets: no failures, no mismatches against the solo answers, RSS growth ≤ 10 %, and exactly one forward
    pass on the server per answered request, in the solo pass and under load.
    """

    clients: int
    requests_per_client: int
    model: str
    distinct_inputs: int
    flow: Flow = "api"
    sent: int = 0
    completed: int = 0
    failures: int = 0
    busy: int = 0
    mismatches: int = 0
    not_sent: int = 0
    indistinct_input_pairs: int = 0  # pairs of inputs with equal solo answers: a leak between them would hide
    solo_forwards: int = -1  # forward passes the server counted for the solo requests (-1: not read)
    forwards: int = -1  # forward passes the server counted in the concurrent phase (-1: not read)
    forwards_by_model: dict[str, int] = field(default_factory=dict)
    follow_up_events: int = 0  # events the page chained after the public one (page flow)
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
    def one_forward_per_request(self) -> bool:
        """The server ran the network exactly once for every answered request, solo and under load."""
        return self.solo_forwards == self.distinct_inputs and self.forwards == self.completed

    @property
    def passed(self) -> bool:
        return (
            self.failures == 0
            and self.mismatches == 0
            and self.not_sent == 0
            and self.indistinct_input_pairs == 0
            and self.completed + self.busy == self.sent
            and self.one_forward_per_request
            and self.rss_growth <= RSS_GROWTH_TARGET
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rss_growth": self.rss_growth,
            "one_forward_per_request": self.one_forward_per_request,
            "passed": self.passed,
        }

    def text(self) -> str:
        """A short human-readable report."""
        lines = [
            f"load test ({self.flow} flow): {self.clients} clients × {self.requests_per_client} requests, "
            f"model {self.model}, {self.distinct_inputs} distinct inputs, fresh bytes for every request",
            f"  sent {self.sent}, completed {self.completed}, failures {self.failures}, busy (queue full) "
            f"{self.busy}, mismatches {self.mismatches}, not sent (time limit) {self.not_sent}, "
            f"pairs of inputs with identical solo answers {self.indistinct_input_pairs}",
            f"  forward passes on the server: {self.forwards} for {self.completed} completed requests under load, "
            f"{self.solo_forwards} for {self.distinct_inputs} solo requests "
            f"({'one per request' if self.one_forward_per_request else 'NOT one per request'})"
            + (f"; {self.follow_up_events} chained page events ran" if self.flow == "page" else ""),
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
