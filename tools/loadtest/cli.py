"""``python -m tools.loadtest``: arguments in, report out, exit status."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.loadtest.report import FLOWS, LoadConfig
from tools.loadtest.run import run_load
from visualiser.errors import VisualiserError
from visualiser.paths import APP_PATH
from visualiser.ui.views.cache import IMAGE_RESULTS


def main(argv: Sequence[str] | None = None) -> int:
    """0 when the targets are met, 1 when not, 2 when it could not run."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.loadtest", description="N visitors × M requests against a local app server"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent visitors (threads)")
    parser.add_argument("--requests", type=int, default=20, help="requests per visitor")
    parser.add_argument("--model", default=None, help="image model (default: the server's default)")
    parser.add_argument(
        "--inputs",
        type=int,
        default=IMAGE_RESULTS.size,
        help="distinct generated images (default: as many as the app's result cache holds, so the solo pass fills "
        "it and the memory measured under load is what the load adds)",
    )
    parser.add_argument(
        "--flow",
        choices=FLOWS,
        default="api",
        help="api: gradio_client calls /analyse_image; page: what a browser does (the Analyse button's one event, "
        "answered with every view on screen)",
    )
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
        flow=args.flow,
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
