"""Scale figures of the dataset job (issue 20): throughput against the bare forward, flat memory, Ray = local.

* **Throughput**: SE-ResNet-50 (deterministic weights: the speed does not depend on their values) over a folder
  of photo-sized JPEGs, batch 32: the whole job (listing, decoding in worker processes, the recorded forward,
  the sums) against the bare batched forward of the same model on tensors already in memory. Both are timed
  alternately (one, the other, again) and the medians compared.
* **Memory**: the embedded CBAM network over CSV lists that repeat the same files to N = 4×, 16×, 64× a base
  size, each in a fresh process: its peak RSS (VmHWM) and its decode workers' peak, against N.
* **Ray**: the same photo folder through a local Ray cluster with two single-threaded model actors, compared with
  the local run's sums (exactly equal, or the largest relative difference), and its throughput.
* **On paper**: what 1,000,000 images cost on N such workers, from the measured per-worker rates.

``python -m tools.dataset_bench [--quick] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "seresnet50.a1_in1k"
BATCH = 32
PHOTO = (500, 375)  # the mean size of an ImageNet validation photo


def write_photos(folder: Path, per_class: int, classes: int = 4, seed: int = 0) -> Path:
    """``classes`` × ``per_class`` JPEGs of 500×375: random crops of the shipped example photos, flipped at times."""
    from PIL import Image

    from visualiser.paths import EXAMPLES_DIR

    sources = [Image.open(p).convert("RGB") for p in sorted((EXAMPLES_DIR / "photos").glob("*.jpg"))]
    rng = np.random.default_rng(seed)
    for k in range(classes):
        (folder / f"class_{k}").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = sources[(k + i) % len(sources)]
            w, h = image.size
            scale = rng.uniform(0.5, 1.0)
            cw, ch = int(w * scale), int(h * scale)
            x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            crop = image.crop((x, y, x + cw, y + ch)).resize(PHOTO, Image.Resampling.BILINEAR)
            if rng.random() < 0.5:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            crop.save(folder / f"class_{k}" / f"{i:04d}.jpg", quality=90)
    return folder


def _loaded():
    from tools.bench.subjects import loaded_model

    return loaded_model(MODEL)


def throughput(folder: Path, repeats: int, workers: int) -> dict[str, Any]:
    """Images per second of the job and of the bare batched forward, timed alternately."""
    import torch

    from visualiser.dataset import dataset_statistics
    from visualiser.media import load_image
    from visualiser.preprocess import preprocess_image

    loaded = _loaded()
    files = sorted(folder.glob("*/*.jpg"))
    x = torch.cat([preprocess_image(load_image(p), loaded.spec.preprocess)[0] for p in files])
    batches = list(torch.split(x, BATCH))

    def bare() -> float:
        start = time.perf_counter()
        with torch.no_grad():
            for b in batches:
                loaded.model(b)
        return len(files) / (time.perf_counter() - start)

    def job() -> float:
        start = time.perf_counter()
        dataset_statistics(loaded, folder, None, batch_size=BATCH, workers=workers, progress=False)
        return len(files) / (time.perf_counter() - start)

    bare()  # warm-up of both
    job()
    rates: dict[str, list[float]] = {"bare": [], "job": []}
    for _ in range(repeats):
        rates["bare"].append(bare())
        rates["job"].append(job())
    bare_rate, job_rate = statistics.median(rates["bare"]), statistics.median(rates["job"])
    return {
        "files": len(files),
        "decode_workers": workers,
        "torch_threads": torch.get_num_threads(),
        "bare_forward_images_per_s": round(bare_rate, 2),
        "job_images_per_s": round(job_rate, 2),
        "job_over_bare": round(job_rate / bare_rate, 3),
        "runs": {k: [round(v, 2) for v in r] for k, r in rates.items()},
    }


_MEMORY_CHILD = """
import json, resource, sys
from visualiser.dataset import dataset_statistics
run = dataset_statistics("shapes_cbam", sys.argv[1], None, batch_size=32, workers=1, progress=False)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"inputs": run.sums.inputs, "vmhwm_kb": int(status["VmHWM"].split()[0]),
                  "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def memory(folder: Path, sizes: list[int], arenas: int | None = None) -> list[dict[str, Any]]:
    """Peak RSS of a fresh process running the job over CSV lists of ``sizes`` rows (the same files repeated).

    ``arenas``: ``MALLOC_ARENA_MAX`` for the process (glibc's per-thread arenas otherwise drift by tens of MB,
    up and down, with no relation to the rows done).
    """
    env = dict(os.environ, **({"MALLOC_ARENA_MAX": str(arenas)} if arenas else {}))
    files = sorted(folder.glob("*/[0-9]*[0-9].png"))
    out = []
    for n in sizes:
        table = folder / f"list_{n}.csv"
        rows = [f"{files[i % len(files)].relative_to(folder)},{files[i % len(files)].parent.name}" for i in range(n)]
        table.write_text("path,label\n" + "\n".join(rows) + "\n")
        done = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(table)], capture_output=True, text=True, check=True, env=env
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        out.append({"rows": n, **figures})
    return out


def ray_equality(folder: Path, local_sums: Any, workers: int = 2) -> dict[str, Any]:
    """The photo folder on a local Ray cluster with ``workers`` single-threaded actors, against the local sums."""
    import ray

    from visualiser.dataset import dataset_statistics
    from visualiser.paths import REPO_ROOT

    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT)}})  # fmt: skip
    started = time.perf_counter() - start
    try:
        t0 = time.perf_counter()
        run = dataset_statistics(_loaded(), folder, None, engine="ray", workers=workers, batch_size=BATCH,
                                 progress=False)  # fmt: skip
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
    worst, equal = 0.0, True
    for key, value in local_sums.arrays.items():
        other = run.sums.arrays[key]
        equal = equal and np.array_equal(value, other)
        if value.dtype.kind == "f":
            scale = np.maximum(np.abs(value), 1e-300)
            worst = max(worst, float(np.max(np.abs(other - value) / scale)))
    return {
        "workers": workers,
        "ray_start_s": round(started, 2),
        "ray_images_per_s": round(run.sums.inputs / wall, 2),
        "bitwise_equal_to_local": bool(equal),
        "max_relative_difference": worst,
    }


def driver_merge(classes: int = 1000, repeats: int = 50) -> dict[str, Any]:
    """What the driver pays per batch for ImageNet-sized sums: SE-ResNet-50's 16 blocks (15,104 gated channels),
    1,000 classes, a batch of 32 spanning two classes (a listing is in class order): the partial's bytes, the time
    to read it from those bytes and add it to the running total."""
    from visualiser.dataset.sums import GateSums

    widths = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
    rng = np.random.default_rng(0)
    names = tuple(f"c{k}" for k in range(classes))
    labels = np.array([7] * 20 + [8] * 12)
    gates = {f"b{i}": rng.random((32, c), dtype=np.float32) for i, c in enumerate(widths)}
    partial = GateSums.from_batch(names, labels, gates)
    total = partial.dense()
    data = partial.to_bytes()
    start = time.perf_counter()
    for _ in range(repeats):
        total.absorb(GateSums.from_bytes(data))
    per_batch = (time.perf_counter() - start) / repeats
    return {
        "gated_channels": sum(widths),
        "classes": classes,
        "total_sums_mb": round(sum(v.nbytes for v in total.arrays.values()) / 2**20, 1),
        "partial_kb": round(len(data) / 1024, 1),
        "merge_ms_per_batch": round(1000 * per_batch, 3),
    }


def on_paper(rate_per_worker: float, images: int = 1_000_000, workers: tuple[int, ...] = (1, 8, 64)) -> dict:
    """Hours for ``images`` on N workers at the measured rate each (the merge on the driver is not the limit)."""
    return {str(n): round(images / (rate_per_worker * n) / 3600, 2) for n in workers}


def main(argv: list[str] | None = None) -> int:
    """Run the figures and print them as JSON (``--json FILE`` also writes them)."""
    parser = argparse.ArgumentParser(prog="python -m tools.dataset_bench")
    parser.add_argument("--quick", action="store_true", help="fewer files and repeats (about 3 minutes)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=1, help="local decode processes")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    report: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "torch": torch.__version__}}
    with tempfile.TemporaryDirectory() as tmp:
        photos = write_photos(Path(tmp) / "photos", per_class=16 if args.quick else 32)
        report["throughput"] = throughput(photos, repeats=2 if args.quick else 3, workers=args.workers)
        from tools.data.folders import write_image_folder

        shapes = Path(tmp) / "shapes"
        write_image_folder(shapes, per_class=8, seed=0)
        sizes = [256, 1024, 4096] if args.quick else [512, 2048, 8192]
        report["memory"] = {"default": memory(shapes, sizes), "MALLOC_ARENA_MAX=2": memory(shapes, sizes, arenas=2)}
        if not args.no_ray:
            from visualiser.dataset import dataset_statistics

            local = dataset_statistics(_loaded(), photos, None, batch_size=BATCH, workers=args.workers, progress=False)
            report["ray"] = ray_equality(photos, local.sums)
        report["driver_merge"] = driver_merge()
        per_worker = report["throughput"]["job_images_per_s"]
        report["one_million_images_hours"] = {"per_worker_images_per_s": per_worker, **on_paper(per_worker)}
    report["peak_rss_kb_bench"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    text = json.dumps(report, indent=1)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
