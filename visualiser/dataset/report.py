"""What a finished job writes: the Fig. 6 ``.stats.npz``, a JSON report, CSV tables and PNG figures.

Every number here is derived from the merged sums (``GateSums``): shares are counts over inputs × channels,
means are sums over counts. Files in ``<out>/``:

* ``<model>.stats.npz`` — the one statistics format the app's Fig. 6 view reads (``visualiser.reference_stats``)
* ``report.json`` — the run, the classes, every block's saturation and always-on / always-off channels (with their
  share of the dataset), per-class saturation, the pointing game, the skipped files and why
* ``blocks.csv``, ``classes.csv``, ``channels.csv``, ``skipped.csv`` — the same numbers as tables
* ``fig6.png``, ``saturation.png``, ``channel_shares.png``, ``pointing.png`` — the figures
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visualiser.dataset.records import DatasetRun, file_name
from visualiser.dataset.sums import SATURATED, SHUT, GateSums
from visualiser.reference_stats import save_reference_stats


def _share(numerator: np.ndarray | int, denominator: np.ndarray | int) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(numerator, np.float64) / np.asarray(denominator, np.float64)


def _number(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 6)


def block_summary(sums: GateSums, block: str, always: float) -> dict[str, Any]:
    """One channel block over the whole dataset: mean gate, saturation, always-on / always-off channels."""
    n, c = sums.inputs, sums.channels(block)
    above = sums.arrays[f"{block}/above"].sum(0)
    below = sums.arrays[f"{block}/below"].sum(0)
    share_on, share_off = _share(above, n), _share(below, n)
    return {
        "name": block,
        "channels": c,
        "mean_gate": _number(float(sums.arrays[f"{block}/sum"].sum() / (n * c))),
        "saturated_share": _number(float(above.sum() / (n * c))),
        "shut_share": _number(float(below.sum() / (n * c))),
        "always_on": [{"channel": int(i), "share": _number(share_on[i])} for i in np.flatnonzero(share_on >= always)],
        "always_off": [
            {"channel": int(i), "share": _number(share_off[i])} for i in np.flatnonzero(share_off >= always)
        ],
    }


def class_saturation(sums: GateSums, block: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K,) mean gate, share above 0.9 and share below 0.1 of each class in ``block`` (NaN for absent classes)."""
    counts = sums.class_counts() * sums.channels(block)
    mean = _share(sums.per_class(block, "sum").sum(1), counts)
    return (
        mean,
        _share(sums.per_class(block, "above").sum(1), counts),
        _share(sums.per_class(block, "below").sum(1), counts),
    )


def pointing_summary(sums: GateSums, block: str) -> dict[str, Any]:
    """Hits, trials and rate of one spatial block, overall and per class."""
    hits, trials = sums.per_class(block, "hits"), sums.per_class(block, "trials")
    total_hits, total_trials = int(hits.sum()), int(trials.sum())
    return {
        "hits": total_hits,
        "trials": total_trials,
        "rate": _number(_share(total_hits, total_trials)),
        "per_class": {
            name: {"hits": int(h), "trials": int(t), "rate": _number(_share(h, t))}
            for name, h, t in zip(sums.classes, hits, trials, strict=True)
        },
    }


def build_report(run: DatasetRun, always: float) -> dict[str, Any]:
    """The JSON report (see the module docstring)."""
    sums = run.sums
    notes = []
    if not run.uses_masks:
        notes.append("masks were not used: a callable preprocess= hides where the network's input lies in the image")
    elif not sums.spatial:
        notes.append("no pointing game: the source has no object masks, or the network has no spatial gate")
    saturation: dict[str, dict[str, Any]] = {name: {} for name in sums.classes}
    for block in sums.blocks:
        mean, high, low = class_saturation(sums, block)
        for k, name in enumerate(sums.classes):
            saturation[name][block] = {
                "mean_gate": _number(mean[k]),
                "saturated_share": _number(high[k]),
                "shut_share": _number(low[k]),
            }
    return {
        "model": run.model,
        "model_title": run.model_title,
        "source": run.source,
        "files": run.files,
        "used": sums.inputs,
        "skipped": len(run.failures),
        "engine": run.engine,
        "batch_size": run.batch_size,
        "run": {
            "seconds": round(run.seconds, 3),
            "files": run.rows_this_run,
            "files_per_second": round(run.files_per_second, 3),
            "resumed_from": run.resumed_from,
        },
        "thresholds": {"saturated": SATURATED, "shut": SHUT, "always": always},
        "classes": [{"name": c, "count": int(n)} for c, n in zip(sums.classes, sums.class_counts(), strict=True)],
        "blocks": [block_summary(sums, block, always) for block in sums.blocks],
        "saturation_per_class": saturation,
        "pointing_game": {block: pointing_summary(sums, block) for block in sums.spatial},
        "skipped_files": [{"row": r, "path": p, "reason": why} for r, p, why in run.failures],
        "notes": notes,
    }


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _tables(run: DatasetRun, report: dict[str, Any], folder: Path) -> list[Path]:
    sums = run.sums
    pointing = report["pointing_game"]
    blocks = [
        (
            b["name"],
            b["channels"],
            b["mean_gate"],
            b["saturated_share"],
            b["shut_share"],
            len(b["always_on"]),
            len(b["always_off"]),
        )
        for b in report["blocks"]
    ]
    classes = []
    for name, count in zip(sums.classes, sums.class_counts(), strict=True):
        for block in sums.blocks:
            s = report["saturation_per_class"][name][block]
            classes.append((name, block, int(count), s["mean_gate"], s["saturated_share"], s["shut_share"]))
    channels = []
    n = max(1, sums.inputs)
    for block in sums.blocks:
        mean = sums.all_mean(block)
        on = sums.arrays[f"{block}/above"].sum(0) / n
        off = sums.arrays[f"{block}/below"].sum(0) / n
        channels += [(block, c, _number(mean[c]), _number(on[c]), _number(off[c])) for c in range(mean.shape[0])]
    points = [
        (block, name, v["hits"], v["trials"], v["rate"])
        for block, summary in pointing.items()
        for name, v in [("(all)", summary), *summary["per_class"].items()]
    ]
    return [
        _write_csv(
            folder / "blocks.csv",
            ("block", "channels", "mean_gate", "share_above_0.9", "share_below_0.1", "always_on", "always_off"),
            blocks,
        ),
        _write_csv(
            folder / "classes.csv",
            ("class", "block", "inputs", "mean_gate", "share_above_0.9", "share_below_0.1"),
            classes,
        ),
        _write_csv(
            folder / "channels.csv", ("block", "channel", "mean_gate", "share_above_0.9", "share_below_0.1"), channels
        ),
        _write_csv(folder / "pointing.csv", ("block", "class", "hits", "trials", "rate"), points),
        _write_csv(folder / "skipped.csv", ("row", "path", "reason"), run.failures),
    ]


def _figures(run: DatasetRun, folder: Path, always: float) -> list[Path]:
    from visualiser.render import dataset as draw

    sums, title, written = run.sums, run.model_title, []

    def save(fig: Any, name: str) -> None:
        fig.savefig(folder / name)
        written.append(folder / name)

    if sums.blocks:
        save(draw.class_mean_curves(sums.reference_stats(), title), "fig6.png")
        per_class = [class_saturation(sums, b) for b in sums.blocks]
        high = np.stack([p[1] for p in per_class], axis=1)
        low = np.stack([p[2] for p in per_class], axis=1)
        save(draw.saturation_map(sums.classes, sums.blocks, high, low, title), "saturation.png")
        n = max(1, sums.inputs)
        above = [sums.arrays[f"{b}/above"].sum(0) / n for b in sums.blocks]
        below = [sums.arrays[f"{b}/below"].sum(0) / n for b in sums.blocks]
        save(draw.channel_shares(sums.blocks, above, below, always, title), "channel_shares.png")
    if sums.spatial:
        hits = np.stack([sums.per_class(b, "hits") for b in sums.spatial], axis=1)
        trials = np.stack([sums.per_class(b, "trials") for b in sums.spatial], axis=1)
        rates = _share(hits.sum(0), trials.sum(0))
        save(
            draw.pointing_game(sums.spatial, rates, trials.sum(0), sums.classes, _share(hits, trials), title),
            "pointing.png",
        )
    return written


def write_outputs(run: DatasetRun, folder: Path, figures: bool = True, always: float = 0.99) -> DatasetRun:
    """Write the statistics file, the report, the tables and (``figures``) the PNGs; returns the run with them."""
    written = []
    if run.sums.blocks:
        written.append(save_reference_stats(run.sums.reference_stats(), folder / f"{file_name(run.model)}.stats.npz"))
    report = build_report(run, always)
    (folder / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    written += [folder / "report.json", *_tables(run, report, folder)]
    if figures:
        written += _figures(run, folder, always)
    return dataclasses.replace(run, written=tuple(written))


def install_statistics(path: Path, model: str) -> Path:
    """Copy a ``.stats.npz`` where the app's Fig. 6 view looks for ``model``'s statistics (the user cache)."""
    from visualiser.pipeline import user_stats_path

    target = user_stats_path(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return target
