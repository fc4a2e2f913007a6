"""``python -m tools.bench [--quick] [--json FILE]``: every measurement in one run, then the table."""

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
    from tools.bench.image import bench_eager_views, bench_image, bench_references
    from tools.bench.media import bench_clip, bench_conv3d
    from tools.bench.serving import bench_app, peak_rss_mb
    from tools.bench.subjects import IMAGENET_ARCHS
    from visualiser.models.registry import list_specs
    from visualiser.models.weights import weights_available

    torch.manual_seed(0)
    repeats = 3 if quick else 9
    embedded = [s.name for s in list_specs("image") if s.embedded and weights_available(s)]
    imagenet = [s.name for s in list_specs("image") if not s.embedded]
    image = bench_image(embedded + (list(IMAGENET_ARCHS) if quick else imagenet), repeats)
    report: dict[str, Any] = {
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
        "image": image,
        "image_over_forward": {name: figures["ratio"] for name, figures in image.items()},
        "eager_views": {IMAGENET_ARCHS[1]: bench_eager_views(IMAGENET_ARCHS[1], repeats)},
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
    args = parser.parse_args(argv)
    report = run(args.quick)
    print(markdown_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
