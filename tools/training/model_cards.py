"""Render ``docs/MODEL_CARDS.md`` from the JSON cards, so the prose never disagrees with the figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.training.ood_report import ood_markdown, read_calibrations
from visualiser.paths import ASSETS_DIR

EMBEDDED = ("shapes_plain", "shapes_se", "shapes_cbam", "motion_cbam3d")

_INTRO = """# Model cards: the embedded models

Four small networks are trained by this project on procedurally generated data and shipped in
`visualiser/assets/models/` (weights as float32 safetensors, a `.card.json` with every figure below, a
`.labels.txt`, and for attention models a `.stats.npz` of class-mean channel gates). Regenerate a
model with `python -m tools.training train NAME`, check it with `python -m tools.training eval NAME`, and
this page with `python -m tools.training cards`, from a checkout of the repository (`tools/training/`, not
installed with the package). Every number here is read from the JSON cards.

**Data.** `shapes` images (96 px for these models): one of 8 shapes (circle, square, triangle, star,
cross, ring, hexagon, arrow) at a random place, size (radius 15–27 % of the side), angle and colour,
filled or outlined, on textured backgrounds (smooth noise, stripes, checkers, gradients, blobs) with
distractor strokes under and over it and, in 40 % of images, a textured band across the image hiding
up to a fifth of it. `motion` clips (16 frames, 64 px): a shape moves left / right / up / down,
turns clockwise / anticlockwise, grows or shrinks, over a textured background that may pan slowly,
with distractor strokes. Training follows a clutter curriculum (easy samples first); held-out
figures are always on the full task, on a stream seed that training never used. Wall times are on a
2-core machine shared with other work: one training thread plus one process drawing the data.

**Intended use.** Teaching and demonstrating what SE and CBAM gates do, on inputs where the
right answer and the object's location are known. These are not general-purpose classifiers:
on real photographs their predictions are meaningless (the gates still show what they respond to).

**Pointing game.** The share of held-out samples whose spatial-gate maximum lies in a grid cell
touched by the object's bounding box (the box mapped onto the gate's grid; for clips, the box of the
frame under the maximum's time step). Chance level is roughly the box's share of the grid.
"""


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _card_section(card: dict[str, Any]) -> str:
    m = card["metrics"]
    t = card["training"]
    cfg = card["architecture"]["config"]
    d = card["data"]
    lines = [f"## `{card['name']}`: {card['title']}", ""]
    arch = ", ".join(f"{k}={v}" for k, v in cfg.items() if k not in ("attn_options",))
    lines += [
        f"- **Architecture:** {card['architecture']['class']} ({arch}); attention options "
        f"{dict(cfg.get('attn_options') or [])}; {card['parameters']:,} parameters; "
        f"weights {card['weights']['size_bytes'] / 1e6:.2f} MB ({card['weights']['dtype']}).",
        f"- **Data:** generator `{d['generator_version']}`, training stream seed {d['train_seed']}"
        f" ({d['train_samples']:,} samples seen), held-out seed {d['eval_seed']} ({d['eval_samples']} samples).",
        f"- **Training:** {t['optimizer']}, peak LR {t['recipe']['peak_lr']}, batch {t['recipe']['batch_size']}, "
        f"weight decay {t['recipe']['weight_decay']}, label smoothing {t['recipe']['label_smoothing']}, "
        f"{t['steps']} steps in {t['wall_time_s'] / 60:.1f} min with {t['threads']} training "
        f"thread{'s' if t['threads'] != 1 else ''}.",
        f"- **Held-out accuracy:** {_pct(m['accuracy'])}.",
    ]
    per_class = ", ".join(f"{k} {_pct(v)}" for k, v in m["per_class_accuracy"].items())
    lines.append(f"- **Per class:** {per_class}.")
    if "pointing_game" in m:
        blocks = ", ".join(f"{k} {_pct(v)}" for k, v in m["pointing_game_per_block"].items())
        headline = f"({m['pointing_game_block']}): {_pct(m['pointing_game'])}"
        lines.append(f"- **Pointing game** {headline}; all blocks: {blocks}.")
    if "mean_channel_gate" in m:
        spans = {}
        for block, per in m["mean_channel_gate"].items():
            values = [v for v in per.values() if v is not None]
            spans[block] = (min(values), max(values))
        rows = [f"{b} {lo:.2f}–{hi:.2f}" for b, (lo, hi) in spans.items()]
        lines.append("- **Mean channel gate** (range over classes): " + "; ".join(rows) + ".")
        first, widest = next(iter(spans)), max(spans, key=lambda b: spans[b][1] - spans[b][0])
        spread_first, spread_widest = (spans[b][1] - spans[b][0] for b in (first, widest))
        if widest != first and spread_widest >= 2 * spread_first:
            verdict = "early gates are generic and later ones class-specific, as in the SE paper's Fig. 6"
        else:
            verdict = "the gates are about equally class-specific in every block"
        lines.append(
            f"- **Reading:** the spread of the class-mean gate over classes is {spread_first:.2f} in {first} "
            f"and largest in {widest} ({spread_widest:.2f}): {verdict}. Per-channel curves: `.stats.npz`."
        )
    lines.append("")
    return "\n".join(lines)


def render_model_cards(cards: Sequence[dict[str, Any]]) -> str:
    """The Markdown page for these cards."""
    return _INTRO + "\n" + "\n".join(_card_section(c) for c in cards)


def write_model_cards(path: str | Path, names: Sequence[str] = EMBEDDED) -> Path:
    """Read each model's card from ``assets/models`` and write the page to ``path``."""
    cards = [json.loads((ASSETS_DIR / "models" / f"{n}.card.json").read_text(encoding="utf-8")) for n in names]
    path = Path(path)
    ood = ood_markdown(read_calibrations(names))
    path.write_text(render_model_cards(cards) + ("\n" + ood if ood else ""), encoding="utf-8")
    return path
