"""Command-line front end: ``python -m visualiser <command>``.

Analyses through ``visualiser.pipeline`` (as the app does) and draws what it returns. A user mistake (bad
file, unknown model, missing weights) prints one ``error: ...`` line and exits with status 2; no traceback.
The development tools are not commands here: ``python -m tools.bench``, ``python -m tools.loadtest`` and
``python -m tools.training`` (train, evaluate and measure the embedded models) run from a checkout of the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from visualiser.catalogue import model_rows
from visualiser.errors import VisualiserError
from visualiser.models.registry import get_spec
from visualiser.models.uploads import checkpoint_info, register_checkpoint
from visualiser.models.weights import fetch_weights, install_weights
from visualiser.models.weights.progress import TextProgress, reporting_downloads
from visualiser.paths import is_clip_path
from visualiser.result import ClipResult, ImageResult
from visualiser.settings import Conv3dSettings

# torch, matplotlib and PyAV load inside the commands that need them, so `models` and `fetch` answer at once.


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m visualiser", description="See what SE / CBAM / ECA attention does."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyse", aliases=["analyze"], help="analyse images or clips and write results")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--model", default=None, help="registry name (default: the embedded model for the input kind)")
    p.add_argument(
        "--weights",
        type=Path,
        default=None,
        metavar="FILE",
        help="your own checkpoint instead of --model: .safetensors, or .pth/.pt/.bin (read with weights_only=True); "
        "its architecture is inferred from its keys and shapes",
    )
    p.add_argument("--arch", metavar="NAME", help="with --weights: load it into this registered architecture")
    p.add_argument("--labels", type=Path, metavar="FILE", help="with --weights: class names, one per line")
    p.add_argument("--out", type=Path, default=Path("attention_out"), help="output folder")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--frames", type=int, default=16, help="frames to sample from a clip")
    p.add_argument("--gradcam", action="store_true", help="also compute Grad-CAM of the top-1 class")
    p.add_argument("--no-figures", action="store_true", help="write only JSON + NPZ")
    p.add_argument(
        "--all-blocks",
        action="store_true",
        help="detailed figures for every block, not only the deepest (slower: ~1 s per block)",
    )

    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser(
        "fetch", help="download a model's weights into the cache, or install a file brought over by hand (--from)"
    )
    p.add_argument("name")
    p.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        metavar="FILE",
        help="install this file instead of downloading: it must match the model's checksum and load strictly",
    )

    p = sub.add_parser("animate", help="write the 3D-convolution sliding animation of a clip")
    p.add_argument("clip", type=Path)
    p.add_argument("--out", type=Path, default=Path("conv3d.mp4"))
    p.add_argument(
        "--kernel",
        default="teaching:temporal_difference",
        help="teaching:<name> | model:<registry name> (its first Conv3d)",
    )
    p.add_argument("--out-channel", type=int, default=0)
    p.add_argument("--mode", choices=["3d", "2d_vs_3d"], default="3d")
    p.add_argument("--gif", action="store_true", help="also write a GIF beside the MP4")

    from visualiser.dataset.command import add_arguments

    p = sub.add_parser(
        "stats", help="gate statistics over a dataset: SE Fig. 6 per block, saturation, always-on channels, pointing"
    )
    add_arguments(p)

    return parser


def _cmd_models(args: argparse.Namespace) -> int:
    rows = model_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'name':24} {'task':5} {'attn':5} {'size':>8} {'here':5} source"
    print(header)
    print("-" * len(header))
    for r in rows:
        size = f"{r['size_mb']:.1f} MB"
        here = "yes" if r["available"] else "no"
        print(f"{r['name']:24} {r['task']:5} {r['attention']:5} {size:>8} {here:5} {r['source']}")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    if args.source is not None:
        installed = install_weights(spec, args.source)
        print(f"{args.name}: {'; '.join(installed.checks)}; installed at {installed.path}")
        return 0
    path = fetch_weights(spec, allow_download=True)  # a download reports to stderr (see main)
    print(f"{args.name}: weights at {path}")
    return 0


def _checkpoint_model(args: argparse.Namespace) -> str | None:
    """The model to analyse with: ``--model``, or the checkpoint given by ``--weights``, registered."""
    if args.weights is None:
        if args.arch or args.labels:
            raise VisualiserError("--arch and --labels go with --weights FILE")
        return args.model
    if args.model:
        raise VisualiserError("give --model NAME or --weights FILE, not both")
    name = register_checkpoint(args.weights, arch=args.arch, labels=args.labels)
    info = checkpoint_info(name)
    print(f"{args.weights}: {info.title} as {name} ({info.timings['total_s']:.2f} s)", file=sys.stderr)
    return name


def _cmd_analyse(args: argparse.Namespace) -> int:
    from visualiser import pipeline

    model = _checkpoint_model(args)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.paths:
        if not path.is_file():
            raise VisualiserError(f"{path}: no such file")
        target = args.out / path.stem
        if is_clip_path(path):
            result = pipeline.analyse_clip(path, model=model, max_frames=args.frames, top_k=args.top_k)
        else:
            result = pipeline.analyse_image(path, model=model, top_k=args.top_k, gradcam=args.gradcam)
        written = result.save(target)
        if not args.no_figures:
            written += _figures(result, target, args.all_blocks)
        top = result.predictions[0]
        print(f"{path}: {top.label} ({top.probability:.1%}) -> {target} ({len(written)} files)")
        if result.outside_notice:
            print(f"{path}: note: {result.outside_notice}")
    return 0


def _figures(result: ImageResult | ClipResult, target: Path, all_blocks: bool) -> list[Path]:
    """Every figure of ``result`` under ``target``, with the scores and statistics the pipeline gives for it."""
    from visualiser import pipeline
    from visualiser.render.bundle import BundleOptions, write_clip_figures, write_image_figures

    scores = pipeline.result_scores(result)
    if isinstance(result, ClipResult):
        return write_clip_figures(result, target, stability=scores.stability)
    options = BundleOptions(per_block=all_blocks)
    return write_image_figures(result, target, options, scores.reference, agreement=scores.agreement)


def _cmd_stats(args: argparse.Namespace) -> int:
    from visualiser.dataset.command import run_stats

    model = _checkpoint_model(args)
    if model is None:
        raise VisualiserError("give a model name, or your checkpoint with --weights FILE")
    return run_stats(model, args.source, args)


def _cmd_animate(args: argparse.Namespace) -> int:
    from visualiser.pipeline.conv3d import animate_clip

    settings = Conv3dSettings(kernel=args.kernel, out_channel=args.out_channel, mode=args.mode)
    written = animate_clip(args.clip, args.out, settings, gif=args.gif)
    for path in written:
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)

    with reporting_downloads(TextProgress(sys.stderr)):  # any command that downloads weights shows MB of MB
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Dispatch one parsed command; a user mistake becomes one ``error:`` line and status 2."""
    try:
        if args.command == "models":
            return _cmd_models(args)
        if args.command == "fetch":
            return _cmd_fetch(args)
        if args.command in ("analyse", "analyze"):
            return _cmd_analyse(args)
        if args.command == "animate":
            return _cmd_animate(args)
        if args.command == "stats":
            return _cmd_stats(args)
    except VisualiserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the file system said no: --out is a file, a folder cannot be created, the disk is full
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
