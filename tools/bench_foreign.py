"""Bench rows for a user's own network (``watch``), as ratios to the bare forward pass measured in one run.

Two structural replicas at full size, with seeded weights: a MobileNetV3-Large-like net (torchvision
layout, hard-sigmoid SqueezeExcitation, 8 SE blocks) and an SE-ResNet-50-like net (timm layout,
16 SEModules). For each: the recorded forward (``recorded_forward`` with the discovery, gates turned into
frozen records) and the full analysis with the eager views (decode → preprocess → recorded forward →
``render_all``), each timed interleaved with the bare forward (``paired_median_times``); and discovery
(the probe pass and its analysis, done once per model), against the same bare forward.

``python -m tools.bench_foreign [--repeats N] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from tools.bench import _photo_bytes, paired_median_times

TARGETS = {"recorded_over_forward": 1.1, "full_over_forward": 1.5}


def _replicas(tiny: bool) -> dict[str, torch.nn.Module]:
    from tests.support.replica_nets import mobilenet_v3_like, se_resnet50_like

    return {"mobilenetv3_like": mobilenet_v3_like(tiny), "seresnet50_like": se_resnet50_like(tiny)}


def bench_foreign(repeats: int = 5, tiny: bool = False) -> dict[str, dict[str, float]]:
    """Per replica: forward_ms, recorded_ms and its ratio, full_ms and its ratio, discovery_ms and its ratio."""
    from visualiser.analysis import recorded_forward
    from visualiser.capture import discover
    from visualiser.media import load_image
    from visualiser.models.registry import Preprocess
    from visualiser.pipeline import analyse_pixels, foreign_model, prepare_image
    from visualiser.render import render_all

    photo = _photo_bytes()
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

        forward_a, recorded_s = paired_median_times(bare, recorded, repeats)
        forward_b, full_s = paired_median_times(bare, full, repeats)
        discovery_s = statistics.median(discover(net, x, refresh=True).seconds for _ in range(max(1, repeats // 2)))
        forward_s = statistics.median([forward_a, forward_b])
        out[name] = {
            "forward_ms": forward_s * 1e3,
            "recorded_ms": recorded_s * 1e3,
            "recorded_over_forward": recorded_s / forward_a,
            "full_ms": full_s * 1e3,
            "full_over_forward": full_s / forward_b,
            "discovery_ms": discovery_s * 1e3,
            "discovery_over_forward": discovery_s / forward_s,
            "blocks": float(len(loaded.foreign.discovery.found)),  # type: ignore[union-attr]
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rows (and write them as JSON if asked)."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench_foreign")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="small replicas at 64 px (seconds; a smoke run)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = bench_foreign(args.repeats, args.tiny)
    for name, row in rows.items():
        marks = {k: ("ok" if row[k] <= t else "over target") for k, t in TARGETS.items()}
        print(
            f"{name}: forward {row['forward_ms']:.1f} ms; recorded {row['recorded_over_forward']:.3f}x "
            f"({marks['recorded_over_forward']}); full with eager views {row['full_over_forward']:.3f}x "
            f"({marks['full_over_forward']}); discovery once {row['discovery_over_forward']:.2f}x "
            f"({row['discovery_ms']:.0f} ms); {int(row['blocks'])} blocks"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
