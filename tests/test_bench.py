"""``python -m visualiser bench --quick`` keeps working: every figure the issue names, finite and positive.

Speeds are never asserted here (the machine's load decides them); the README's table comes from a full run.
"""

from __future__ import annotations

import json
import math

import pytest

from tools import bench

pytestmark = pytest.mark.slow

REQUIRED = ("conv3d_animation_fps", "conv3d_animation_speedup", "api_overhead_ms", "cold_start_s", "peak_rss_mb")


def test_quick_benchmark_reports_every_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["bench", "--quick", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in REQUIRED:
        assert math.isfinite(report[key]), key
    assert report["conv3d_animation_fps"] > 0 and report["conv3d_animation_speedup"] > 1
    assert report["cold_start_s"] > 0 and report["peak_rss_mb"] > 100
    ratios = report["image_over_forward"]
    assert {"seresnet50.a1_in1k", "cbam_resnet50", "shapes_cbam"} <= set(ratios)
    assert all(math.isfinite(r) and r > 0 for r in ratios.values())
    assert {"shapes_cbam", "seresnet50.a1_in1k"} <= set(report["clip_fps"])
    for name, figures in report["image"].items():
        views = {k for k in figures if k.startswith("view_")}
        assert {"view_channel_overview_ms", "view_overlay_ms", "view_spatial_grid_ms"} <= views, name
    table = capsys.readouterr().out
    assert table.startswith("| measure | measured | target | met |")
    for target in bench.TARGETS.values():
        assert target[0] in table  # every target has its row


def test_paired_medians_time_each_function_separately():
    calls: list[str] = []
    first, second = bench.paired_median_times(lambda: calls.append("a"), lambda: calls.append("b"), repeats=3)
    assert calls == ["a", "b"] * 4  # one warm-up pair, then alternating
    assert first >= 0 and second >= 0
