"""The targets and the README's performance table, built from a report (the dict ``run`` returns).

Pure: no measuring, no torch, so the table can be checked on a made-up report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tools.bench.subjects import IMAGENET_ARCHS

NO_TARGET = "–"
# What the in-process image rows time (tools.bench.image): the tab's own events, replayed as the page chains them.
IMAGE_CLICK = "Image tab click in process (its one event, Gradio's encoding included)"
IMAGE_VIEWS = "Image tab click in process above its forward pass (decoding, the views, encoding)"


@dataclass(frozen=True)
class Target:
    """A bound a figure must stay within: ``value ≤ limit`` (``at_most``) or ``value ≥ limit``."""

    limit: float
    at_most: bool
    unit: str = ""
    signed: bool = False  # the figure is a difference (seconds above a floor): the bound is printed "+0.25 s"

    def met(self, value: float) -> bool:
        """Whether ``value`` is within the bound (a NaN never is)."""
        if math.isnan(value):
            return False
        return value <= self.limit if self.at_most else value >= self.limit

    @property
    def text(self) -> str:
        sign = "+" if self.signed else ""
        return f"{'≤' if self.at_most else '≥'} {sign}{self.limit:g}{self.unit}"


TARGETS: dict[str, Target] = {
    "image_over_forward": Target(3, at_most=True, unit="×"),
    # forward + the views ≤ 3× forward leaves the views 2× (the budget of the old render test)
    "eager_views_over_forward": Target(2, at_most=True, unit="×"),
    "conv3d_animation_fps": Target(60, at_most=False, unit=" frames/s"),
    "conv3d_animation_speedup": Target(20, at_most=False, unit="×"),
    "clip_fps_embedded": Target(25, at_most=False, unit=" frames/s"),
    "clip_fps_seresnet50": Target(8, at_most=False, unit=" frames/s"),
    "api_overhead_ms": Target(150, at_most=True, unit=" ms"),
    "cold_start_s": Target(8, at_most=True, unit=" s"),
    "peak_rss_mb": Target(1500, at_most=True, unit=" MB"),
    # issue 10, the foreign-network path (rows appear when the report has a "foreign" section)
    "foreign_recorded_over_forward": Target(1.1, at_most=True, unit="×"),
    "foreign_analysis_over_forward": Target(1.5, at_most=True, unit="×"),
    # issue 16, in the browser (rows appear when the report has a "browser" section): seconds above the echo
    # app's floor, or above the floor plus the model's own work for the same input measured in process
    "browser_image_embedded": Target(0.25, at_most=True, unit=" s", signed=True),
    "browser_image_imagenet": Target(0.25, at_most=True, unit=" s", signed=True),
    "browser_option": Target(0.1, at_most=True, unit=" s", signed=True),
    "browser_gradcam": Target(0.1, at_most=True, unit=" s", signed=True),
    "browser_clip": Target(0.3, at_most=True, unit=" s", signed=True),
    "browser_breaks": Target(0, at_most=True),
}


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, how to print it, and the target it is held to (if any)."""

    label: str
    value: float
    unit: str
    target: str | None = None  # a key of TARGETS
    spec: str = ".2f"

    @property
    def met(self) -> bool | None:
        return None if self.target is None else TARGETS[self.target].met(self.value)

    def markdown(self) -> str:
        target = NO_TARGET if self.target is None else TARGETS[self.target].text
        met = NO_TARGET if self.met is None else ("yes" if self.met else "no")
        return f"| {self.label} | {self.value:{self.spec}}{self.unit} | {target} | {met} |"


def _image_rows(report: Mapping[str, Any]) -> list[Row]:
    ratios: Mapping[str, float] = report.get("image_over_forward", {})
    rows = [
        Row(f"{IMAGE_CLICK} / forward, {name}", ratio, "×", "image_over_forward")
        for name, ratio in ratios.items()
        if name in IMAGENET_ARCHS
    ]
    others = {name: ratio for name, ratio in ratios.items() if name not in IMAGENET_ARCHS}
    rows += [Row(f"{IMAGE_CLICK} / forward, {name}", ratio, "×") for name, ratio in others.items()]
    for name, figures in report.get("eager_views", {}).items():
        ratio = figures["eager_views_over_forward"]
        rows.append(Row(f"{IMAGE_VIEWS}, {name}", figures["eager_views_ms"], " ms"))
        rows.append(Row(f"{IMAGE_VIEWS} / forward, {name}", ratio, "×", "eager_views_over_forward"))
    return rows


def _media_rows(report: Mapping[str, Any]) -> list[Row]:
    rows = []
    if "conv3d_animation_fps" in report:
        rows.append(
            Row(
                "3D-conv animation, 640×360 incl. H.264", report["conv3d_animation_fps"], " fps", "conv3d_animation_fps"
            )
        )
    if "conv3d_animation_speedup" in report:
        rows.append(
            Row(
                "3D-conv animation vs matplotlib voxels",
                report["conv3d_animation_speedup"],
                "×",
                "conv3d_animation_speedup",
            )
        )
    for name, fps in report.get("clip_fps", {}).items():
        key = "clip_fps_seresnet50" if name.startswith("seresnet50") else "clip_fps_embedded"
        rows.append(Row(f"clip analysis with overlays, {name}", fps, " fps", key))
    return rows


def _serving_rows(report: Mapping[str, Any]) -> list[Row]:
    rows = [
        Row(label, report[key], unit, key)
        for key, label, unit in (
            ("api_overhead_ms", "gradio_client round trip − direct call", " ms"),
            ("cold_start_s", "cold start of app.py to ready", " s"),
            ("peak_rss_mb", "peak RSS, embedded + one ImageNet model", " MB"),
        )
        if key in report
    ]
    if "api_floor_ms" in report:
        floor = report["api_floor_ms"]
        rows.append(Row("reference: gradio_client round trip, endpoint that does nothing", floor, " ms", spec=".0f"))
        if "api_overhead_ms" in report:
            above = report["api_overhead_ms"] - floor
            rows.append(Row("reference: API overhead above that floor", above, " ms", spec="+.0f"))
    return rows


def _foreign_rows(report: Mapping[str, Any]) -> list[Row]:
    """Rows for the foreign-network figures: ``{replica: {figure: value}}``; known ratios get their target."""
    rows = []
    for replica, figures in report.get("foreign", {}).items():
        for figure, value in figures.items():
            if not figure.endswith("_over_forward"):
                continue
            key = f"foreign_{figure}"
            label = f"foreign network, {replica}: {figure.removesuffix('_over_forward').replace('_', ' ')} / forward"
            rows.append(Row(label, value, "×", key if key in TARGETS else None))
    return rows


def _browser_rows(report: Mapping[str, Any]) -> list[Row]:
    if "browser" not in report:
        return []
    from tools.bench.browser.report import browser_rows

    return browser_rows(report["browser"])


def table_rows(report: Mapping[str, Any]) -> list[Row]:
    """Every row the report has figures for, in the README's order; references last."""
    rows = _image_rows(report) + _media_rows(report) + _serving_rows(report) + _foreign_rows(report)
    rows += _browser_rows(report)
    rows += [
        Row(f"reference: {key.replace('_', ' ')}", value, "×") for key, value in report.get("references", {}).items()
    ]
    return rows


def markdown_table(report: Mapping[str, Any]) -> str:
    """The README's performance table."""
    header = ["| measure | measured | target | met |", "|---|---|---|---|"]
    return "\n".join(header + [row.markdown() for row in table_rows(report)])
