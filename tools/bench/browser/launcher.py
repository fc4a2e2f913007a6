"""``python -m tools.bench.browser.launcher [--weights NAME ...]``: ``app.py`` as the browser bench serves it.

Before the app is built, in the server's own process: the ImageNet models named by ``--weights`` get
deterministic weights (``visualiser.models.deterministic``: their speed does not depend on the values, and
nothing can be downloaded here), installed the way an offline user installs a file brought over by hand,
``python -m visualiser fetch NAME --from FILE`` (run in-process, into the private ``$VISUALISER_CACHE`` that
``AppServer`` gives the server); and the event trace (``server_trace``) starts writing to
``$VISUALISER_BENCH_TRACE``. Then ``app.py`` runs as ``__main__``, unchanged.

A published checkpoint with a checksum (imgclsmob's CBAM-ResNet-50: SHA-1) would refuse a deterministic
stand-in, as it should; for those the launcher registers the model again without the checksum, in this
process only, and says so on its output.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import runpy
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.bench.browser.server_trace import TRACE_ENV, install
from visualiser.paths import APP_PATH


def write_deterministic(name: str, folder: Path) -> Path:
    """A weights file for ``name`` with the deterministic recipe's values, in the format its source publishes."""
    import torch
    from safetensors.torch import save_file

    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.registry import get_spec

    spec = get_spec(name)
    state = {k: v.contiguous() for k, v in with_seeded_weights(spec.builder()).state_dict().items()}
    if spec.weights.kind == "hub" and (spec.weights.filename or "").endswith(".safetensors"):
        path = folder / f"{name}.safetensors"
        save_file(state, str(path))
    else:
        path = folder / f"{name}.pth"
        torch.save(state, path)
    return path


def lift_checksum(name: str) -> bool:
    """Register ``name`` again without its checksum (this process only); True when it had one."""
    from visualiser.models import registry

    spec = registry.get_spec(name)
    if not spec.weights.checksum:
        return False
    registry.unregister(name)
    registry.register(dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, checksum=None)))
    return True


def install_deterministic(names: Sequence[str]) -> None:
    """``fetch NAME --from FILE`` for each of ``names``, with a deterministic-weights file."""
    from visualiser import cli

    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if lift_checksum(name):
                print(f"bench: {name} registered without its checksum (deterministic stand-in weights)", flush=True)
            brought = write_deterministic(name, Path(tmp))
            if cli.main(["fetch", name, "--from", str(brought)]) != 0:
                raise SystemExit(f"bench: fetch {name} --from {brought.name} failed")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.browser.launcher")
    parser.add_argument("--weights", nargs="*", default=[], help="ImageNet models to give deterministic weights")
    args = parser.parse_args(argv)
    if "VISUALISER_CACHE" not in os.environ:
        raise SystemExit("bench: set VISUALISER_CACHE to a private folder (the launcher installs weights there)")
    install_deterministic(args.weights)
    trace = os.environ.get(TRACE_ENV)
    if trace:
        install(Path(trace))  # for the life of the server; probes it cannot find are listed in the trace
    sys.argv = [str(APP_PATH)]
    runpy.run_path(str(APP_PATH), run_name="__main__")


if __name__ == "__main__":
    main()
