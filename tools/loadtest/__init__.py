"""Load test: many visitors at once against a real ``app.py`` server, checked against solo answers.

``python -m tools.loadtest --clients 16 --requests 20 [--flow api|page]`` starts the app as a subprocess
(``tools.server.AppServer``: a free loopback port, private temporary folders) through
``tools.forward_counter``, which counts the server's forward passes. It sends every distinct input once
from one visitor (the solo answers, which also warm the model up), then lets N visitor threads send M
requests each. Every answer must equal the solo answer for the same input: a difference means one request
saw another's data. Each concurrent request carries its own bytes (a PNG text chunk with a nonce, same
pixels), so the server's result cache cannot answer it, and the server must run the network exactly once
per answered request: in the ``page`` flow that includes the views the page draws after the public event.

The report gives failures, mismatches, "busy" answers (a full queue, which is the server protecting
itself, so it is counted apart from failures), forward passes against requests, latency percentiles,
throughput and the server's resident memory before and after (``VmRSS`` / ``VmHWM`` from ``/proc``).
Nothing leaves the machine: the server binds 127.0.0.1, Hugging Face Hub is offline, telemetry is off,
and the run stops by itself at ``--timeout-s``.

Modules: ``answers`` (inputs, nonces, comparing answers), ``report`` (config, report, pass rule),
``page`` (a browser's HTTP calls without a browser), ``visitors`` (API and page visitors), ``run`` (the
run), ``cli`` (the command).
"""

from tools.loadtest.answers import Answer, answer_from, percentile, same_answer, same_values, with_nonce, write_inputs
from tools.loadtest.cli import main
from tools.loadtest.report import RSS_GROWTH_TARGET, LoadConfig, LoadReport
from tools.loadtest.run import run_load

__all__ = [
    "RSS_GROWTH_TARGET",
    "Answer",
    "LoadConfig",
    "LoadReport",
    "answer_from",
    "main",
    "percentile",
    "run_load",
    "same_answer",
    "same_values",
    "with_nonce",
    "write_inputs",
]
