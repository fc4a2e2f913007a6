"""Bench rows for a user's own network (``watch``), as ratios to the bare forward pass measured in one run.

Two structural replicas at full size, with seeded weights: a MobileNetV3-Large-like net (torchvision
layout, hard-sigmoid SqueezeExcitation, 8 SE blocks) and an SE-ResNet-50-like net (timm layout,
16 SEModules). For each: the recorded forward (``recorded_forward`` with the discovery, gates turned into
frozen records) and the full analysis with the eager views (decode → preprocess → recorded forward →
``render_all``), each timed interleaved with the bare forward (as ``tools.bench.paired_median_times``);
the eager views alone; and discovery (the probe pass and its analysis, done once per model), against the
same bare forward.

Each ratio is given on the wall clock (``*_over_forward``, as the other bench rows) and on the process's
CPU clock (``*_cpu_over_forward``): on a shared machine other processes stretch wall times unevenly, while
CPU time counts only this process's work (use ``--threads 1`` for it, so idle worker threads do not count).

``python -m tools.bench_foreign [--repeats N] [--threads T] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from tools.bench.subjects import photo_bytes

TARGETS = {"recorded_over_forward": 1.1, "analysis_over_forward": 1.5}


def paired_times(first: Callable[[], object], second: Callable[[], object], repeats: int) -> dict[str, float]:
    """Median wall and CPU seconds of two functions called alternately (after one warm-up call each)."""
    first()
    second()
    wall: tuple[list[float], list[float]] = ([], [])
    cpu: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for k, fn in enumerate((first, second)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    m = statistics.median
    return {"first": m(wall[0]), "second": m(wall[1]), "first_cpu": m(cpu[0]), "second_cpu": m(cpu[1])}


def _replicas(tiny: bool) -> dict[str, torch.nn.Module]:
    from tests.support.replica_nets import mobilenet_v3_like, se_resnet50_like

    return {"mobilenetv3_like": mobilenet_v3_like(tiny), "seresnet50_like": se_resnet50_like(tiny)}


def bench_foreign(repeats: int = 5, tiny: bool = False) -> dict[str, dict[str, float]]:
    """Per replica: forward_ms, recorded_ms and its ratio, analysis_ms and its ratio, discovery_ms and its ratio."""
    from visualiser.analysis import recorded_forward
    from visualiser.capture import discover
    from visualiser.media import load_image
    from visualiser.models.registry import Preprocess
    from visualiser.pipeline import analyse_pixels, foreign_model, prepare_image
    from visualiser.render import render_all

    photo = photo_bytes()
    pre = Preprocess(input_size=64 if tiny else 224)
    out: dict[str, dict[str, float]] = {}
    for name, net in _replicas(tiny).items():
        loaded = foreign_model(net, pre)
        x, _, _ = prepare_image(load_image(photo), loaded)

        def bare(net: torch.nn.Module = net, x: torch.Tensor = x) -> None:
            with torch.no_grad():
                net(x)

        def recorded(net: torch.nn.Module = net, x: torch.Tensor = x, loaded: object = loaded) -> None:
            recorded_forward(net, x, foreign=loaded.foreign)  # type: ignore[attr-defined]

        def full(loaded: object = loaded) -> None:
            render_all(analyse_pixels(load_image(photo), loaded))  # type: ignore[arg-type]

        rec = paired_times(bare, recorded, repeats)
        fin = paired_times(bare, full, repeats)
        dis = paired_times(bare, lambda net=net, x=x: discover(net, x, refresh=True), max(1, repeats // 2))
        result = analyse_pixels(load_image(photo), loaded)
        views = paired_times(bare, lambda result=result: render_all(result), repeats)
        out[name] = {
            "forward_ms": rec["first"] * 1e3,
            "recorded_ms": rec["second"] * 1e3,
            "recorded_over_forward": rec["second"] / rec["first"],
            "recorded_cpu_over_forward": rec["second_cpu"] / rec["first_cpu"],
            "analysis_ms": fin["second"] * 1e3,  # decode, preprocess, recorded forward, the eager views
            "analysis_over_forward": fin["second"] / fin["first"],
            "analysis_cpu_over_forward": fin["second_cpu"] / fin["first_cpu"],
            "views_ms": views["second"] * 1e3,  # render_all alone: the part of the analysis that is not the network
            "discovery_ms": dis["second"] * 1e3,
            "discovery_over_forward": dis["second"] / dis["first"],  # once per model, cached
            "blocks": float(len(loaded.foreign.discovery.found)),  # type: ignore[union-attr]
        }
    return out


def measure(quick: bool = False) -> dict[str, dict[str, float]]:
    """The benchmark's foreign-network section (``python -m tools.bench`` calls it)."""
    return bench_foreign(repeats=3 if quick else 7)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rows (and write them as JSON if asked)."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench_foreign")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="small replicas at 64 px (seconds; a smoke run)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = bench_foreign(args.repeats, args.tiny)
    for name, row in rows.items():
        marks = {  # judged on the CPU clock: this process's own work, whatever else the machine runs
            k: f"target {t}: {'ok' if row[k.replace('_over', '_cpu_over')] <= t else 'over'}"
            for k, t in TARGETS.items()
        }
        print(
            f"{name}: forward {row['forward_ms']:.1f} ms, {int(row['blocks'])} blocks; recorded "
            f"{row['recorded_over_forward']:.3f}x wall / {row['recorded_cpu_over_forward']:.3f}x CPU "
            f"({marks['recorded_over_forward']}); analysis with eager views {row['analysis_over_forward']:.3f}x "
            f"wall / {row['analysis_cpu_over_forward']:.3f}x CPU ({marks['analysis_over_forward']}); discovery once "
            f"{row['discovery_over_forward']:.2f}x wall ({row['discovery_ms']:.0f} ms)"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
