"""The browser bench's rows, in the README performance table's format, and its per-step breakdowns.

Pure: built from the dict ``run_browser`` returns (``report["browser"]`` in a full report), so it can be checked
on a made-up one. Each step gives up to three rows: the median time from the action to finished; that time
above the echo app's floor (the median of the pairs' differences); and above the floor plus the model's own
work measured in process (the forward pass, two for Grad-CAM, the frames' passes and the encoding for a clip).
The targets are issue 16's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.bench.browser.breakdown import markdown_breakdown
from tools.bench.table import Row

ACTIONS = {
    "image": "Image tab, {model}: Analyse → every view drawn",
    "alpha": "Image tab, {model}: alpha moved → overlay and grid redrawn",
    "block": "Image tab, {model}: block picked → its views redrawn",
    "sort": "Image tab, {model}: sort toggled → chart redrawn",
    "gradcam": "Image tab, {model}: Grad-CAM pressed → shown",
    "clip": "Clip tab, {model}: Analyse → every view drawn",
    "conv3d": "3D tab: Animate → animation and step shown",
}
OPTION_KINDS = ("alpha", "block", "sort")


def _targets(step: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The TARGETS keys of a step's "above the floor" and "above the floor and the model's work" rows."""
    kind = step["kind"]
    if kind == "image":
        return ("browser_image_embedded", None) if step.get("embedded") else (None, "browser_image_imagenet")
    if kind in OPTION_KINDS:
        return "browser_option", None
    if kind == "gradcam":
        return None, "browser_gradcam"
    if kind == "clip":
        return None, "browser_clip"
    return None, None


def browser_rows(browser: Mapping[str, Any]) -> list[Row]:
    """The table's rows for the browser section: the floor, then three rows per step (two without model work)."""
    rows = [Row("browser: echo app, click → picture shown (Gradio's floor)", browser["floor_s"], " s")]
    for step in browser.get("steps", {}).values():
        base = "browser: " + ACTIONS[step["kind"]].format(model=step.get("model") or "")
        over_target, work_target = _targets(step)
        rows.append(Row(base, step["finished_s"], " s"))
        rows.append(Row(f"{base}, above the floor", step["over_floor_s"], " s", over_target, spec="+.2f"))
        if step.get("model_work", "nothing") != "nothing":
            label = f"{base}, above the floor + {step['model_work']} ({1e3 * step['model_work_s']:.0f} ms)"
            rows.append(Row(label, step["over_floor_minus_work_s"], " s", work_target, spec="+.2f"))
    if "breaks" in browser:
        broke = float(len(browser["breaks"]))
        rows.append(Row("browser: actions whose flow broke", broke, "", "browser_breaks", ".0f"))
    return rows


def browser_breakdowns(browser: Mapping[str, Any]) -> str:
    """Every step's median timeline, one markdown table each, then the breaks (if any) with their reasons."""
    parts = []
    for key, step in browser.get("steps", {}).items():
        title = ACTIONS[step["kind"]].format(model=step.get("model") or "") + f" ({key}, median of {step['n']})"
        parts.append(markdown_breakdown(title, step.get("breakdown", [])))
    for broke in browser.get("breaks", []):
        where = f"{broke['step']} (repeat {broke['repeat']}, attempt {broke['attempt']})"
        parts.append(f"BROKE: {where}: {broke['reason']}")
    return "\n\n".join(parts)
