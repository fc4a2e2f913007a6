"""``python -m tools.training train | eval | stats | ood | cards | examples``, from a checkout of the repository.

The embedded models were made with these commands; the installed package only ships what they wrote.
``stats NAME`` runs the product's dataset job (``visualiser.dataset``, as ``python -m visualiser stats`` does) over
the model's held-out generated data (``generated.py``), which reproduces the shipped ``<name>.stats.npz``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.training.evaluation import evaluate
from tools.training.examples import write_motion_examples, write_photos, write_shape_examples
from tools.training.generated import held_out_source
from tools.training.loop import train
from tools.training.model_cards import write_model_cards
from tools.training.ood import fit_ood
from tools.training.ood_report import summary_lines
from visualiser.dataset.command import add_job_arguments, run_stats
from visualiser.errors import VisualiserError
from visualiser.paths import ASSETS_DIR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.training", description="Train and score the embedded models."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an embedded model and write assets/models/<name>.*")
    p.add_argument("name")
    p.add_argument("--minutes", type=float, default=None, help="wall-clock budget instead of the recipe's step count")
    p.add_argument("--steps", type=int, default=None, help="train exactly this many steps instead")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=1, choices=[0, 1], help="processes drawing batches ahead")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: assets/models)")
    p.add_argument("--checkpoint-dir", type=Path, default=None)
    p.add_argument("--eval-samples", type=int, default=None)

    p = sub.add_parser("eval", help="score the shipped weights on fresh held-out data")
    p.add_argument("name")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=None, help="held-out stream (default: one training never used)")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")

    p = sub.add_parser("stats", help="gate statistics over an embedded model's held-out generated data")
    p.add_argument("model", metavar="NAME")
    p.add_argument("--samples", type=int, default=None, help="how many held-out samples (default: the card's)")
    p.add_argument("--seed", type=int, default=None, help="the generator stream (default: the card's)")
    add_job_arguments(p)

    p = sub.add_parser("ood", help="fit and measure the out-of-distribution score, write <name>.ood.json")
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--false-alarm", type=float, default=0.01, help="share of held-out generated inputs flagged")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: assets/models)")

    p = sub.add_parser("cards", help="render docs/MODEL_CARDS.md from the JSON cards")
    p.add_argument("--out", type=Path, default=Path("docs/MODEL_CARDS.md"))

    p = sub.add_parser("examples", help="regenerate the generated example images and clips")
    p.add_argument("--out", type=Path, default=None, help="default: assets/examples")
    p.add_argument("--photos", type=Path, nargs="*", default=[], help="real photos to copy (check their licence)")
    return parser


def _print_eval(result: dict) -> None:
    print(f"accuracy: {result['accuracy']:.4f} on {result['samples']} samples (seed {result['seed']})")
    for cls, acc in result["per_class_accuracy"].items():
        print(f"  {cls:>12}: {acc:.4f}")
    if "pointing_game" in result:
        print(f"pointing game ({result['pointing_game_block']}): {result['pointing_game']:.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a user mistake prints ``error: ...`` and returns 2."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S", stream=sys.stderr)
    try:
        if args.command == "train":
            card = train(
                args.name,
                minutes=args.minutes,
                seed=args.seed,
                out_dir=args.out,
                threads=args.threads,
                steps=args.steps,
                checkpoint_dir=args.checkpoint_dir,
                workers=args.workers,
                evaluate_samples=args.eval_samples,
            )
            _print_eval(card["metrics"])
        elif args.command == "eval":
            result = evaluate(args.name, samples=args.samples, seed=args.seed)
            if args.json:
                print(json.dumps(result, indent=2))
            else:
                _print_eval(result)
        elif args.command == "stats":
            source = held_out_source(args.model, samples=args.samples, seed=args.seed)
            return run_stats(args.model, source, args)
        elif args.command == "ood":
            for name in args.names:
                _, path = fit_ood(name, false_alarm=args.false_alarm, out_dir=args.out)
                print("\n".join(summary_lines(json.loads(path.read_text(encoding="utf-8")))))
                print(f"wrote {path}")
        elif args.command == "cards":
            print(f"wrote {write_model_cards(args.out)}")
        elif args.command == "examples":
            out = args.out or ASSETS_DIR / "examples"
            paths = write_shape_examples(out) + write_motion_examples(out) + write_photos(out, args.photos)
            print(f"wrote {len(paths)} files under {out}")
    except VisualiserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
