"""The benchmark's pieces: the table on a made-up report, the timers on a fake clock, and one quick real run.

Speeds are never asserted (the machine's load decides them); the README's table comes from a full run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from tools import bench
from tools.bench import (
    TARGETS,
    Target,
    interleaved_median_times,
    markdown_table,
    median_time,
    paired_median_times,
    table_rows,
)
from tools.bench.image import CLICK_EVENT
from tools.bench.table import IMAGE_CLICK, IMAGE_VIEWS


def fake_report(**overrides: object) -> dict:
    """A report with every section ``tools.bench.run`` writes, plus a foreign section, all targets met."""
    report: dict = {
        "quick": True,
        "torch_threads": 2,
        "image_over_forward": {"shapes_cbam": 4.92, "cbam_resnet50": 1.54, "seresnet50.a1_in1k": 1.28},
        "eager_views": {"cbam_resnet50": {"eager_views_ms": 25.5, "eager_views_over_forward": 0.31}},
        "references": {"naive_matplotlib_over_forward": 122.48, "gradcam_over_forward": 1.12},
        "conv3d_animation_fps": 120.16,
        "conv3d_animation_speedup": 207.64,
        "clip_fps": {"shapes_cbam": 62.02, "seresnet50.a1_in1k": 11.94},
        "foreign": {"mobilenetv3_like": {"recorded_over_forward": 1.04, "analysis_over_forward": 1.3, "forward_ms": 9}},
        "api_overhead_ms": 131.0,
        "api_floor_ms": 136.4,
        "cold_start_s": 5.69,
        "peak_rss_mb": 523.65,
        "browser": fake_browser(),
    }
    report.update(overrides)
    return report


def fake_browser() -> dict:
    """A browser section as ``run_browser`` summarises it, every issue-16 target met."""

    def step(kind: str, model: str | None, embedded: bool, finished: float, over: float, work: float, name: str):
        return {"kind": kind, "model": model, "embedded": embedded, "n": 5, "finished_s": finished, "floor_s": 0.3,
                "over_floor_s": over, "model_work_s": work, "model_work": name,
                "over_floor_minus_work_s": over - work, "breakdown": []}  # fmt: skip

    return {
        "floor_s": 0.3,
        "steps": {
            "image:shapes_cbam": step("image", "shapes_cbam", True, 0.5, 0.2, 0.005, "forward"),
            "alpha:shapes_cbam": step("alpha", "shapes_cbam", True, 0.35, 0.05, 0.0, "nothing"),
            "gradcam:shapes_cbam": step("gradcam", "shapes_cbam", True, 0.4, 0.1, 0.01, "2 × forward"),
            "image:cbam_resnet50": step("image", "cbam_resnet50", False, 0.6, 0.3, 0.1, "forward"),
            "clip:motion_cbam3d": step("clip", "motion_cbam3d", True, 1.0, 0.6, 0.4, "frames' forward + encoding"),
            "conv3d": step("conv3d", None, False, 1.2, 0.9, 0.8, "animation work in process"),
        },
        "breaks": [],
    }


def _row(table: str, label: str) -> str:
    lines = [line for line in table.splitlines() if line.startswith(f"| {label} |")]
    assert len(lines) == 1, (label, table)
    return lines[0]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


# --- the table ---------------------------------------------------------------------------------------


def test_a_full_report_has_a_row_for_every_target():
    rows = table_rows(fake_report())
    assert {row.target for row in rows if row.target is not None} == set(TARGETS)
    assert all(row.met for row in rows if row.target is not None)  # the fake report meets every target
    table = markdown_table(fake_report())
    assert table.splitlines()[:2] == ["| measure | measured | target | met |", "|---|---|---|---|"]
    assert len(table.splitlines()) == 2 + len(rows)
    for target in TARGETS.values():
        assert f"| {target.text} |" in table


@pytest.mark.parametrize("key", sorted(TARGETS))
def test_met_follows_the_direction_of_each_target(key):
    target = TARGETS[key]
    inside, outside = (0.5, 1.5) if target.at_most else (1.5, 0.5)
    step = 1 if target.at_most else -1  # a bound of 0 (no broken flow) is left by a step, not a factor
    assert target.met(target.limit)  # the bound itself is allowed: "≤" and "≥"
    assert target.met(target.limit * inside if target.limit else target.limit - step)
    assert not target.met(target.limit * outside if target.limit else target.limit + step)
    assert not target.met(math.nan)
    assert target.text.startswith("≤ " if target.at_most else "≥ ")


def test_a_missed_target_says_no_in_its_row():
    report = fake_report(
        image_over_forward={"cbam_resnet50": 3.01},
        conv3d_animation_fps=59.99,
        cold_start_s=8.0,
        api_overhead_ms=150.5,
    )
    table = markdown_table(report)
    assert _row(table, f"{IMAGE_CLICK} / forward, cbam_resnet50") == (
        f"| {IMAGE_CLICK} / forward, cbam_resnet50 | 3.01× | ≤ 3× | no |"
    )
    assert _cells(_row(table, "3D-conv animation, 640×360 incl. H.264")) == [
        "3D-conv animation, 640×360 incl. H.264",
        "59.99 fps",
        "≥ 60 frames/s",
        "no",
    ]
    assert _cells(_row(table, "cold start of app.py to ready"))[1:] == ["8.00 s", "≤ 8 s", "yes"]  # on the bound
    assert _cells(_row(table, "gradio_client round trip − direct call"))[1:] == ["150.50 ms", "≤ 150 ms", "no"]


def test_rows_without_a_target_and_the_references():
    table = markdown_table(fake_report())
    assert _cells(_row(table, f"{IMAGE_CLICK} / forward, shapes_cbam")) == [
        f"{IMAGE_CLICK} / forward, shapes_cbam",
        "4.92×",
        "–",
        "–",
    ]
    assert _cells(_row(table, f"{IMAGE_VIEWS}, cbam_resnet50"))[1:] == ["25.50 ms", "–", "–"]
    assert _cells(_row(table, f"{IMAGE_VIEWS} / forward, cbam_resnet50"))[1:] == ["0.31×", "≤ 2×", "yes"]
    assert _cells(_row(table, "reference: gradio_client round trip, endpoint that does nothing"))[1] == "136 ms"
    assert _cells(_row(table, "reference: API overhead above that floor"))[1] == "-5 ms"  # 131.0 − 136.4, signed
    assert _cells(_row(table, "clip analysis with overlays, seresnet50.a1_in1k"))[2] == "≥ 8 frames/s"
    assert _cells(_row(table, "clip analysis with overlays, shapes_cbam"))[2] == "≥ 25 frames/s"
    recorded = _row(table, "foreign network, mobilenetv3_like: recorded / forward")
    assert _cells(recorded)[1:] == ["1.04×", "≤ 1.1×", "yes"]
    assert "forward ms" not in table  # only ratios of the foreign section become rows
    labels = [_cells(line)[0] for line in table.splitlines()[2:]]
    assert labels[-2:] == ["reference: naive matplotlib over forward", "reference: gradcam over forward"]
    image_rows = [label for label in labels if label.startswith(IMAGE_CLICK)]
    assert [label.rpartition(" ")[2] for label in image_rows] == ["cbam_resnet50", "seresnet50.a1_in1k", "shapes_cbam"]


def test_a_report_without_a_section_gives_no_rows_for_it():
    report = {"image_over_forward": {"cbam_resnet50": 1.5}, "cold_start_s": 9.5}
    rows = table_rows(report)
    assert [(row.label, row.met) for row in rows] == [
        (f"{IMAGE_CLICK} / forward, cbam_resnet50", True),
        ("cold start of app.py to ready", False),
    ]


# --- the timers -----------------------------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when a timed function says how long it took."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def costing(clock: FakeClock, name: str, durations: list[float], calls: list[str]):
    """A function that logs its call and advances ``clock`` by the next of ``durations``."""
    remaining: Iterator[float] = iter(durations)

    def fn() -> None:
        calls.append(name)
        clock.now += next(remaining)

    return fn


def test_paired_medians_interleave_and_take_the_median_of_what_was_measured():
    clock, calls = FakeClock(), []
    first = costing(clock, "a", [50.0, 5.0, 1.0, 3.0, 4.0, 2.0], calls)  # one warm-up, then five timed calls
    second = costing(clock, "b", [70.0, 20.0, 80.0, 40.0, 10.0, 30.0], calls)
    a, b = paired_median_times(first, second, repeats=5, warmup=1, clock=clock)
    assert calls == ["a", "b"] * 6  # a warm-up pair, then strictly alternating
    assert a == pytest.approx(3.0)  # median of 5, 1, 3, 4, 2 (the 50 of the warm-up is not measured)
    assert b == pytest.approx(30.0)  # median of 20, 80, 40, 10, 30
    assert a / b == pytest.approx(0.1)


def test_paired_medians_of_functions_with_known_relative_cost():
    clock, calls = FakeClock(), []
    cheap = costing(clock, "cheap", [1.0] * 5, calls)
    dear = costing(clock, "dear", [7.0] * 5, calls)
    assert paired_median_times(cheap, dear, repeats=3, clock=clock) == (pytest.approx(1.0), pytest.approx(7.0))
    assert paired_median_times(cheap, dear, repeats=1, warmup=0, clock=clock) == (1.0, 7.0)
    assert len(calls) == 2 * (1 + 3 + 1)  # no call more than the warm-up and the repeats ask for
    with pytest.raises(ValueError):
        paired_median_times(cheap, dear, repeats=0)


def test_three_functions_are_timed_in_turn():
    clock, calls = FakeClock(), []
    fns = [costing(clock, name, durations, calls) for name, durations in
           (("a", [9.0, 1.0, 3.0, 2.0]), ("b", [9.0, 10.0, 30.0, 20.0]), ("c", [9.0, 5.0, 5.0, 6.0]))]  # fmt: skip
    assert interleaved_median_times(fns, repeats=3, warmup=1, clock=clock) == (2.0, 20.0, 5.0)
    assert calls == ["a", "b", "c"] * 4
    with pytest.raises(ValueError):
        interleaved_median_times(fns, repeats=0)


def test_median_time_skips_the_warm_up():
    clock, calls = FakeClock(), []
    fn = costing(clock, "f", [9.0, 9.0, 2.0, 6.0, 4.0, 5.0], calls)
    assert median_time(fn, repeats=4, warmup=2, clock=clock) == pytest.approx(4.5)  # median of 2, 6, 4, 5
    assert len(calls) == 6


def test_target_text():
    assert Target(1500, at_most=True, unit=" MB").text == "≤ 1500 MB"
    assert Target(1.1, at_most=True, unit="×").text == "≤ 1.1×"
    assert Target(60, at_most=False, unit=" frames/s").text == "≥ 60 frames/s"
    assert Target(0.25, at_most=True, unit=" s", signed=True).text == "≤ +0.25 s"  # seconds above a floor


# --- one real run -----------------------------------------------------------------------------------------


def _numbers(value: object, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _numbers(inner, f"{path}.{key}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, float(value)


@pytest.mark.slow
def test_quick_benchmark_reports_finite_positive_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    figures = dict(_numbers(report))
    assert len(figures) > 30
    bad = {path: value for path, value in figures.items() if not (math.isfinite(value) and value > 0)}
    assert not bad
    assert {"seresnet50.a1_in1k", "cbam_resnet50"} <= set(report["image_over_forward"])
    assert set(report["eager_views"]) == {"cbam_resnet50"}
    assert report["eager_views"]["cbam_resnet50"]["model_blocks"] == 16
    assert {f"event_{CLICK_EVENT}_ms", "views_ms", "click_ms"} <= set(report["image"]["cbam_resnet50"])
    assert "seresnet50.a1_in1k" in report["clip_fps"]
    printed = capsys.readouterr().out.strip()
    assert printed == markdown_table(report)
    foreign_targets = {key for key in TARGETS if key.startswith("foreign_")}
    browser_targets = {key for key in TARGETS if key.startswith("browser_")}  # only `bench --browser` has them
    present = {row.target for row in table_rows(report) if row.target is not None}
    assert present == set(TARGETS) - browser_targets - (set() if "foreign" in report else foreign_targets)
