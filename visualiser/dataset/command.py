"""``python -m visualiser stats MODEL SOURCE``: the dataset job's command-line options and what it prints.

The parser lives here; ``visualiser/cli.py`` adds it as the ``stats`` subcommand, resolves ``--weights``, then
calls ``run_stats``. The job's own options (``add_job_arguments``) serve any front end that brings its own source,
e.g. the repository's training tool (``python -m tools.training stats``, an embedded model's generated data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from visualiser.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``stats`` options."""
    p.add_argument("model", nargs="?", help="registry name (leave out with --weights)")
    p.add_argument(
        "source",
        help="a folder <class>/<file> (masks beside images as <stem>.mask.png), or a .csv / .parquet list with "
        "columns path,label[,mask]",
    )
    p.add_argument("--weights", type=Path, default=None, metavar="FILE", help="your own checkpoint instead of MODEL")
    p.add_argument("--arch", metavar="NAME", help="with --weights: load it into this registered architecture")
    p.add_argument("--labels", type=Path, metavar="FILE", help="with --weights: class names, one per line")
    add_job_arguments(p)


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    """The options of the job itself, whatever the model and the source (``run_stats`` reads them)."""
    p.add_argument("--out", type=Path, default=None, help="output folder (default: stats_<model>)")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="local processes, or a Ray cluster")
    p.add_argument(
        "--address", default=None, help="--engine ray: 'auto' or 'ray://host:10001' (default: start Ray here)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local: decode processes (default CPUs - 1); ray: model actors (default one per CPU, or per GPU)",
    )
    p.add_argument("--batch-size", type=int, default=None, help="inputs per forward pass (default 32)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1 ...")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming the run in --out")
    p.add_argument("--install", action="store_true", help="also put the statistics where the app's Fig. 6 view looks")
    p.add_argument("--always", type=float, default=0.99, help="share from which a channel is always on / off")
    p.add_argument("--no-figures", action="store_true", help="write the statistics, JSON and CSV only")


def run_stats(model: str, source: Any, args: argparse.Namespace) -> int:
    """Run the job as the options say and print where everything went."""
    from visualiser.dataset.job import dataset_statistics
    from visualiser.dataset.records import file_name
    from visualiser.dataset.report import install_statistics

    if not 0.5 < args.always <= 1.0:
        raise InputError(f"--always must be a share between 0.5 and 1, not {args.always}")
    out = args.out or Path(f"stats_{file_name(model)}")
    try:
        run = dataset_statistics(
            model,
            source,
            out,
            batch_size=args.batch_size,
            engine=args.engine,
            workers=args.workers,
            address=args.address,
            device=args.device,
            fresh=args.fresh,
            figures=not args.no_figures,
            always=args.always,
        )
    except KeyboardInterrupt:
        print(f"interrupted; what is done is kept in {out}: run the same command again to resume", file=sys.stderr)
        raise
    sums = run.sums
    resumed = f", resumed at file {run.resumed_from:,}" if run.resumed_from else ""
    print(
        f"{run.model}: {sums.inputs:,} of {run.files:,} files used, {len(run.failures)} skipped; "
        f"{len(sums.blocks)} channel blocks, {len(sums.spatial)} spatial; {run.files_per_second:.1f} files/s "
        f"({run.engine}{resumed})"
    )
    for _row, path, reason in run.failures[:10]:
        print(f"  skipped {path}: {reason}")
    if len(run.failures) > 10:
        print(f"  ... and {len(run.failures) - 10} more (skipped.csv)")
    stats = next((p for p in run.written if p.name.endswith(".stats.npz")), None)
    if args.install and stats is not None:
        print(f"installed {install_statistics(stats, run.model)} (the app's Fig. 6 view reads it)")
    print(f"wrote {len(run.written)} files to {out}")
    return 0
