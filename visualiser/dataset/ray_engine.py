"""The Ray engine: Ray Data reads the listing, decodes batches in tasks, actors holding the model reduce them.

The same job as the local engine, spread over a cluster: ``read_csv`` over the listing's part files (each a
whole number of batches) → ``map_batches`` decoding ``batch_size`` rows at a time (CPU tasks) →
``map_batches`` on an actor pool whose actors each hold the model (CPU, or one GPU each) and return one
batch's partial sums → merged on the driver in row order (``preserve_order``), exactly as the local engine
merges them. Ray is an optional extra (``pip install "attention-visualiser[ray]"``); on a cluster the listing
(the output folder) and the files must be at the same paths on every node, and this package installed there.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np

from visualiser.dataset.decode import Prepare
from visualiser.dataset.records import Outcome
from visualiser.dataset.runner import GateRunner, ModelPackage
from visualiser.dataset.sources import Source
from visualiser.dataset.sums import GateSums
from visualiser.errors import InputError
from visualiser.paths import REPO_ROOT

NEED_RAY = 'the ray engine needs Ray Data: pip install "attention-visualiser[ray]" (or pip install "ray[data]")'


def _decode(rows: dict[str, np.ndarray], source: Source, prepare: Prepare) -> dict[str, np.ndarray]:
    """A decode task: rows → one row holding the decoded batch, pickled (our own bytes, from our own task)."""
    import torch

    torch.set_num_threads(1)
    return {"decoded": np.array([pickle.dumps(source.decode(rows, prepare), protocol=5)], dtype=object)}


class _Reduce:
    """An actor holding the model: one decoded batch in, that batch's sums (an NPZ's bytes) out."""

    def __init__(self, package: Any, batch_size: int, device: str, classes: tuple[str, ...]) -> None:
        import ray
        import torch

        if isinstance(package, ray.ObjectRef):  # the model travels once through the object store
            package = ray.get(package)

        if not device.startswith("cuda"):
            torch.set_num_threads(1)  # one actor per CPU
        self.runner = GateRunner.from_package(package, batch_size, device)
        self.classes = classes

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, list[Any]] = {"first_row": [], "rows": [], "sums": [], "failures": []}
        for data in batch["decoded"]:
            decoded = pickle.loads(data)
            sums = self.runner.reduce(decoded, self.classes)
            out["first_row"].append(decoded.first_row)
            out["rows"].append(decoded.rows)
            out["sums"].append(sums.to_bytes() if sums is not None else b"")
            out["failures"].append(json.dumps(decoded.failures))
        return {
            "first_row": np.array(out["first_row"], np.int64),
            "rows": np.array(out["rows"], np.int64),
            "sums": np.array(out["sums"], dtype=object),
            "failures": np.array(out["failures"], dtype=object),
        }


def _start(address: str | None) -> bool:
    """Connect to (or start) Ray unless the caller already did; True when this job started it."""
    try:
        import ray
    except ImportError:
        raise InputError(NEED_RAY) from None
    if ray.is_initialized():
        return False
    path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    ray.init(
        address=address,
        include_dashboard=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": path}} if address is None else None,
    )
    return True


def ray_outcomes(
    source: Source,
    package: ModelPackage,
    batch_size: int,
    first_row: int,
    workers: int | None,
    address: str | None,
    device: str,
) -> Iterator[Outcome]:
    """Every batch from ``first_row`` on, reduced by the actor pool, in row order (see the module docstring)."""
    started = _start(address)
    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # our own progress line says how far it is
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        gpu = device.startswith("cuda")
        resources = ray.cluster_resources()
        count = workers or max(1, int(resources.get("GPU" if gpu else "CPU", 1)))
        decoded = source.ray_dataset(first_row, batch_size).map_batches(
            _decode,
            fn_kwargs={"source": source, "prepare": package.prepare},
            batch_size=batch_size,
            batch_format="numpy",
            num_cpus=1,
        )
        reduced = decoded.map_batches(
            _Reduce,
            fn_constructor_kwargs={
                "package": ray.put(package),
                "batch_size": batch_size,
                "device": device,
                "classes": source.classes,
            },
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=count),
            num_cpus=0 if gpu else 1,
            num_gpus=1 if gpu else 0,
        )
        for row in reduced.iter_rows():
            data = row["sums"]
            failures = [tuple(f) for f in json.loads(row["failures"])]
            yield Outcome(
                int(row["first_row"]), int(row["rows"]), GateSums.from_bytes(data) if data else None, failures
            )
    finally:
        if started:
            ray.shutdown()
