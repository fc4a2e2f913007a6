"""``python -m tools.bench [--quick] [--browser] [--json FILE]``: every measurement in one run, then the table.

``--browser`` runs the browser bench instead (``tools.bench.browser``): its rows, then each action's breakdown;
the exit status is 1 when an action's flow broke (CI runs ``--browser --quick``: it fails on a broken flow,
never on a speed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.bench.table import markdown_table


def run(quick: bool) -> dict[str, Any]:
    """All measurements; ``quick`` uses fewer repeats, smaller clips and only the two ResNet-50s of the targets."""
    import torch

    from tools import bench_foreign
    from tools.bench.image import attention_blocks, bench_references, image_click
    from tools.bench.media import bench_clip, bench_conv3d
    from tools.bench.serving import bench_app, peak_rss_mb
    from tools.bench.subjects import IMAGENET_ARCHS
    from visualiser.models.registry import list_specs
    from visualiser.models.weights import weights_available

    torch.manual_seed(0)
    repeats = 3 if quick else 9
    embedded = [s.name for s in list_specs("image") if s.embedded and weights_available(s)]
    imagenet = [s.name for s in list_specs("image") if not s.embedded]
    image = image_click(embedded + (list(IMAGENET_ARCHS) if quick else imagenet), repeats)
    views_of = image[IMAGENET_ARCHS[1]]
    report: dict[str, Any] = {
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
        "image": image,
        "image_over_forward": {name: figures["ratio"] for name, figures in image.items()},
        "eager_views": {
            IMAGENET_ARCHS[1]: {
                "model_blocks": float(attention_blocks(IMAGENET_ARCHS[1])),
                "forward_ms": views_of["forward_ms"],
                "eager_views_ms": views_of["views_ms"],
                "eager_views_over_forward": views_of["views_ms"] / views_of["forward_ms"],
            }
        },
        "references": bench_references(IMAGENET_ARCHS[0], repeats),
    }
    conv = bench_conv3d(quick)
    report["conv3d"] = conv
    report["conv3d_animation_fps"] = conv["fps"]
    report["conv3d_animation_speedup"] = conv["speedup"]
    clip_models = [m for m in ("shapes_cbam",) if m in embedded] + [IMAGENET_ARCHS[0]]
    report["clip_fps"] = bench_clip(clip_models, 8 if quick else 16, 1 if quick else 3)
    report["foreign"] = bench_foreign.measure(quick=quick)  # {replica: {figure: value}}
    report.update(bench_app(3 if quick else 30))
    report["peak_rss_mb"] = peak_rss_mb()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tools.bench``."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 45 s); what CI runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument(
        "--browser",
        action="store_true",
        help="the browser bench: chromium clicks through the app beside the echo app (quick: about 2 min)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="browser bench: comma-separated steps or kinds to run (image:shapes_cbam, alpha, clip, conv3d, ...)",
    )
    args = parser.parse_args(argv)
    if args.browser:
        return _browser(args.quick, [s for s in args.only.split(",") if s], args.json)
    report = run(args.quick)
    print(markdown_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _browser(quick: bool, only: list[str], json_path: Path | None) -> int:
    """The browser bench: rows in the README table's format, then every action's breakdown; 1 if a flow broke."""
    from tools.bench.browser import FlowBroke, run_browser
    from tools.bench.browser.report import browser_breakdowns

    try:
        browser = run_browser(quick, only=only, log=lambda line: print(line, file=sys.stderr, flush=True))
    except FlowBroke as broke:  # nothing to measure with (no chromium, no step matched --only)
        print(f"error: {broke}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"quick": quick, "browser": browser}
    if json_path:
        json_path.write_text(json.dumps(report, indent=2, default=str))
    print(markdown_table(report))
    print()
    print(browser_breakdowns(browser))
    return 1 if browser["breaks"] else 0


if __name__ == "__main__":
    sys.exit(main())
