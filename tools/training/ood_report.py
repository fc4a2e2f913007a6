"""The OOD measurement in words: the command's summary and the section of ``docs/MODEL_CARDS.md``.

Everything is read from the ``.ood.json`` files, so the page never disagrees with what was measured.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from visualiser.paths import MODELS_DIR

_KIND_NAMES = {
    "msp": "max softmax probability",
    "energy": "energy (−logsumexp of the logits)",
    "mahalanobis": "Mahalanobis distance of the pooled features",
    "relative_mahalanobis": "relative Mahalanobis distance of the pooled features",
}

_INTRO = """## Outside what the networks learned: the out-of-distribution score

Each embedded model has an `<name>.ood.json` (`python -m tools.training ood NAME`, seeded,
so a refit gives the same threshold). Four scores are computed from one forward pass: max softmax
probability and energy from the logits, and the Mahalanobis and relative Mahalanobis distances of
the pooled penultimate features (`global_pool` / `avgpool`) to class means with a shared
covariance. The means and covariance are fitted on generated data (full clutter, a stream seed
that training never used); the threshold lets 1 % of a second fresh stream through as "outside";
the AUROC and the false-alarm rate actually seen come from a third. The real side, preprocessed
as the app does: the four shipped photos and every photo bundled with an installed package on
this machine (each as a whole file and as five crops: centre 60 %, four quadrants), and for the
motion model the shipped clips, bundled clips and six camera moves over each photo. The score
kept is the one with the highest AUROC. It would be relied on only if its AUROC were at least 0.95
and it flagged at least 90 % of whole real files and every shipped photo (clip). Without such a
score the app computes none: its notice goes on every input to these models that is not one of
their shipped generated examples (recognised by the file's SHA-1).
"""


def _pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def _flagged(items: dict[str, dict[str, Any]]) -> str:
    return f"{sum(i['outside'] for i in items.values())} / {len(items)}"


def read_calibrations(names: Sequence[str], folder: Path | None = None) -> list[dict[str, Any]]:
    """The stored calibration documents of ``names`` that exist."""
    paths = [(folder or MODELS_DIR) / f"{n}.ood.json" for n in names]
    return [json.loads(p.read_text(encoding="utf-8")) for p in paths if p.is_file()]


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """What the command prints: the chosen score, its separation, every group and every candidate."""
    s = doc["separation"]
    at = ", ".join(f"{_pct(v)} at {float(k) * 100:g} %" for k, v in s["true_positive_rate_whole_files_at"].items())
    lines = [
        f"{doc['model']}: {doc['kind']} on {doc['layer']}, threshold {doc['threshold']:.4g} "
        f"({100 * doc['false_alarm_rate']:.1f} % false alarms set, {100 * s['false_alarm_rate_test']:.1f} % seen)",
        f"  AUROC {s['auroc']:.4f} (whole files {s['auroc_whole_files']:.4f}); flagged {_pct(s['true_positive_rate'])}"
        f" of real inputs; whole files flagged {at}; shipped {s['shipped_real_flagged']}/{s['shipped_real_count']}",
        f"  decision: {doc['decision']}",
    ]
    lines += [f"  {g:>22}: {v['flagged']:4d} / {v['count']:<4d} flagged" for g, v in s["groups"].items()]
    for kind, c in s["candidates"].items():
        lines.append(
            f"  candidate {kind:>20}: AUROC {c['auroc']:.4f}, flags {_pct(c['true_positive_rate'])} of real inputs, "
            f"{100 * c['false_alarm_rate_test']:.1f} % test false alarms"
        )
    return lines


def _row(doc: dict[str, Any]) -> str:
    s = doc["separation"]
    items = s["items"]
    real = [g for g in items if g.startswith(("photos_", "clips_", "camera_"))]
    at = s["true_positive_rate_whole_files_at"]
    cells = [
        f"`{doc['model']}`",
        _KIND_NAMES[doc["kind"]],
        f"{s['auroc']:.3f} / {s['auroc_whole_files']:.3f}",
        " / ".join(_pct(at[k]) for k in ("0.01", "0.05", "0.1")),
        "; ".join(f"{g} {_flagged(items[g])}" for g in real),
        f"{_flagged(items['examples'])}",
        f"{100 * s['false_alarm_rate_test']:.1f} %",
        "yes" if doc["separates"] else "**no**",
    ]
    return "| " + " | ".join(cells) + " |"


def _real_items(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Whole real files (not crops) and their stored verdicts."""
    groups = doc["separation"]["items"]
    return {
        n: i for g, v in groups.items() if g.startswith(("photos_", "clips_")) for n, i in v.items() if "#" not in n
    }


def _lowest(doc: dict[str, Any]) -> str:
    name, item = min(_real_items(doc).items(), key=lambda kv: kv[1]["percentile"])
    return f"{item['percentile']:.1f} % ({name.split('/')[-1]})"


def _synthetic(doc: dict[str, Any]) -> str:
    items = doc["separation"]["items"].get("synthetic", {})
    kinds: dict[str, list[bool]] = {}
    for name, item in items.items():
        kinds.setdefault(name.rsplit("_", 1)[0].replace("uniform_", "").replace("gaussian_", ""), []).append(
            item["outside"]
        )
    return ", ".join(f"{k.replace('_', ' ')} {sum(v)}/{len(v)}" for k, v in kinds.items())


def _details(doc: dict[str, Any]) -> str:
    groups = doc["separation"]["groups"]
    shifted = ", ".join(
        f"{g.removeprefix('shifted_')} {v['flagged']}/{v['count']}"
        for g, v in groups.items()
        if g.startswith("shifted")
    )
    graphics = groups.get("graphics", {"flagged": 0, "count": 0})
    passing = [n.split("/")[-1] for n, i in _real_items(doc).items() if not i["outside"]]
    examples = [i["percentile"] for i in doc["separation"]["items"]["examples"].values()]
    line = (
        f"- `{doc['model']}`: {doc['decision']}. Shipped examples at percentiles "
        f"{min(examples):.0f}–{max(examples):.0f} of generated data. Not photos, flagged: graphics "
        f"{graphics['flagged']}/{graphics['count']}, {_synthetic(doc)}. Generated but shifted, flagged: {shifted}."
    )
    if passing:
        line += f" Whole real files taken as inside: {', '.join(passing)}."
    return line


def ood_markdown(docs: Sequence[dict[str, Any]]) -> str:
    """The MODEL_CARDS section for these calibration documents ("" when there are none)."""
    if not docs:
        return ""
    header = (
        "| model | score kept | AUROC (all views / whole files) | whole real files flagged at 1 / 5 / 10 % "
        "false alarms | whole files flagged at the 1 % threshold | shipped examples flagged | false alarms seen "
        "| relied on |\n|---|---|---|---|---|---|---|---|"
    )
    rows = "\n".join(_row(d) for d in docs)
    details = "\n".join(_details(d) for d in docs)
    relied = [d["model"] for d in docs if d["separates"]]
    lowest = ", ".join(f"{_lowest(d)} on {d['model']}" for d in docs)
    best = max(min(i["percentile"] for i in _real_items(d).values()) for d in docs)
    if relied:
        verdict = (
            f"A score separates for {', '.join(relied)}; the app does not compute it yet (its notice is decided "
            "by the input's identity)."
        )
    else:
        verdict = (
            "**No score separates generated data from real photos well enough.** The least unusual whole real "
            f"file of each model scores only at this percentile of held-out generated inputs: {lowest}. A threshold "
            f"that flags them all would also flag at least {100 - best:.0f} % of generated inputs, even on the best "
            'model. The app therefore computes no score and shows its "outside what this network learned" '
            "notice on every input to these models except their shipped generated examples."
        )
    fitted = sorted({d.get("fitted", "?") for d in docs})
    return f"{_INTRO}\n{header}\n{rows}\n\n{verdict}\n\n{details}\n\nFitted {', '.join(fitted)}.\n"
