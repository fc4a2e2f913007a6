"""Where one action's time goes: its browser and server timelines merged, as medians over the repeats.

Pure (no browser, no server): a timeline is what ``run._timeline`` records for one action, in milliseconds
after the action: the event requests the page sent (``requests``), the events the server ran with their
phases (``events``), the files the page downloaded (``media``) and the moment it was finished. Each line of
the breakdown is one of those, matched across repeats by its event (``fn_index``) and occurrence, with the
median of its times; a line seen in fewer than half the repeats is left out.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from tools.bench.browser.server_trace import NEST

TOP_PHASES = 8  # the largest probes shown inside each phase of a server event
PHASES = ("preprocess", "function", "postprocess")


def _keyed(timeline: Mapping[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """One timeline's lines, keyed so the same line of another repeat has the same key."""
    lines: dict[tuple[str, ...], dict[str, Any]] = {}
    seen: Counter[tuple[str, ...]] = Counter()
    for r in timeline.get("requests", []):
        base = ("request", str(r["kind"]), str(r["fn_index"]))
        seen[base] += 1
        what = f"browser sends event {r['fn_index']} ({r['kind']})" if r["fn_index"] is not None else r["kind"]
        lines[(*base, str(seen[base]))] = {"what": what, "start_ms": r["sent_ms"], "end_ms": r["answered_ms"]}
    for e in timeline.get("events", []):
        base = ("event", str(e["fn_index"]))
        seen[base] += 1
        lines[(*base, str(seen[base]))] = {
            "what": f"server runs event {e['fn_index']} `{e['name']}`" + ("" if e.get("ok", True) else " (failed)"),
            "start_ms": e["start_ms"],
            "end_ms": e["end_ms"],
            "phases": dict(e.get("phases", {})),
        }
    media = timeline.get("media", [])
    if media:
        lines[("media",)] = {
            "what": "browser downloads the pictures / videos",
            "start_ms": min(m["start_ms"] for m in media),
            "end_ms": max(m["end_ms"] for m in media),
            "count": len(media),
            "bytes": sum(m.get("bytes") or 0 for m in media),
        }
    finished = {"what": "finished (every view drawn, no progress shown)", "start_ms": timeline["finished_ms"]}
    lines[("finished",)] = {**finished, "end_ms": None}
    return lines


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def breakdown(timelines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The median line-by-line timeline of one kind of action, in order of when each line starts."""
    keyed = [_keyed(t) for t in timelines if t]
    if not keyed:
        return []
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for lines in keyed:
        for key, line in lines.items():
            groups[key].append(line)
    out = []
    for lines in groups.values():
        if 2 * len(lines) < len(keyed):
            continue
        first = lines[0]
        line: dict[str, Any] = {
            "what": first["what"],
            "start_ms": _median([x["start_ms"] for x in lines]),
            "end_ms": _median([x["end_ms"] for x in lines]),
        }
        if "count" in first:
            line["count"] = round(statistics.median(x["count"] for x in lines))
            line["bytes"] = round(statistics.median(x["bytes"] for x in lines))
        if "phases" in first:
            names = dict.fromkeys(name for x in lines for name in x["phases"])
            phases = {name: statistics.median(x["phases"].get(name, 0.0) for x in lines) for name in names}
            line["phases"] = dict(sorted(phases.items(), key=lambda kv: -kv[1]))
        out.append(line)
    return sorted(out, key=lambda x: (x["start_ms"], x["what"]))


def _phases_text(phases: Mapping[str, float]) -> str:
    """``function 350 (block_views 226, ...) · postprocess 1582 (Plot 1273, ...)``: each phase, its largest probes."""
    parts = []
    outside = {name: ms for name, ms in phases.items() if NEST not in name and name not in PHASES and ms >= 0.5}
    for phase in PHASES:
        inner = [(name.split(NEST, 1)[1], ms) for name, ms in phases.items() if name.startswith(phase + NEST)]
        inner = [(name, ms) for name, ms in sorted(inner, key=lambda kv: -kv[1]) if ms >= 0.5][:TOP_PHASES]
        text = f"{phase} {phases.get(phase, 0.0):.0f}"
        if inner:
            text += " (" + ", ".join(f"{name} {ms:.0f}" for name, ms in inner) + ")"
        parts.append(text)
    parts += [f"{name} {ms:.0f}" for name, ms in sorted(outside.items(), key=lambda kv: -kv[1])]  # between phases
    return " · ".join(parts)


def markdown_breakdown(title: str, lines: Sequence[Mapping[str, Any]]) -> str:
    """One action's breakdown as a markdown table: when each line starts and ends after the action, and why."""
    rows = [f"#### {title}", "", "| after the action | until | takes | what | inside (ms) |", "|---|---|---|---|---|"]
    for line in lines:
        start, end = line["start_ms"], line["end_ms"]
        takes = "" if end is None else f"{end - start:.0f} ms"
        inside = _phases_text(line["phases"]) if "phases" in line else ""
        if "count" in line:
            inside = f"{line['count']} files, {line['bytes'] / 1024:.0f} KiB"
        until = "" if end is None else f"{end:.0f} ms"
        rows.append(f"| {start:.0f} ms | {until} | {takes} | {line['what']} | {inside} |")
    return "\n".join(rows)
