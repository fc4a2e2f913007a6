"""``python -m visualiser bench [--quick] [--json FILE]``: what users wait for, as ratios measured in one run.

Every figure is a median over repeats after a warm-up, on whatever machine runs it. Absolute
times are noisy on shared CPUs, so targets are stated as ratios to the bare forward pass where
possible. Nothing here is asserted by tests; CI only runs ``--quick`` to keep the command working.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
IMAGENET_ARCHS = ("seresnet50.a1_in1k", "cbam_resnet50")


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_median_times(
    first: Callable[[], object], second: Callable[[], object], repeats: int, warmup: int = 1
) -> tuple[float, float]:
    """Median times of two functions called alternately, so machine-load drift hits both equally."""
    for _ in range(warmup):
        first()
        second()
    a, b = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        a.append(t1 - t0)
        b.append(time.perf_counter() - t1)
    return statistics.median(a), statistics.median(b)


def _loaded(name: str):  # returns pipeline.LoadedModel (imported lazily)
    from visualiser.labels import load_labels
    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.registry import get_spec
    from visualiser.models.weights import weights_available
    from visualiser.pipeline import LoadedModel, get_model

    spec = get_spec(name)
    if weights_available(spec):
        return get_model(name)
    return LoadedModel(spec, with_seeded_weights(spec.builder()), load_labels(spec.labels))


def _photo_bytes(variant: int = 0) -> bytes:
    """A 640×480 JPEG of the first example photo; ``variant`` changes one pixel (a new file, same content)."""
    examples = sorted((ROOT / "assets" / "examples").rglob("*.jpg"))
    if examples:
        image = Image.open(examples[0]).convert("RGB").resize((640, 480))
    else:
        rng = np.random.default_rng(0)
        image = Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    if variant:
        image.putpixel((0, 0), (variant % 256, (variant // 256) % 256, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bench_image(names: Sequence[str], repeats: int) -> dict[str, dict[str, float]]:
    """Full analysis (decode → every eager chart and heatmap) against the bare forward pass, per model."""
    from visualiser.media import load_image
    from visualiser.pipeline import analyse_pixels
    from visualiser.render import eager_views, render_all

    photo = _photo_bytes()
    out: dict[str, dict[str, float]] = {}
    for name in names:
        loaded = _loaded(name)
        pixels = load_image(photo)
        from visualiser.preprocess import preprocess_image

        x, _, _ = preprocess_image(pixels, loaded.spec.preprocess)

        def forward(model: torch.nn.Module = loaded.model, x: torch.Tensor = x) -> None:
            with torch.no_grad():
                model(x)

        def full(loaded: object = loaded) -> None:
            render_all(analyse_pixels(load_image(photo), loaded))  # type: ignore[arg-type]

        forward_s, full_s = paired_median_times(forward, full, repeats)
        result = analyse_pixels(pixels, loaded)
        views = {
            view: median_time(lambda fn=fn, result=result: fn(result), repeats) for view, fn in eager_views().items()
        }
        out[name] = {"forward_ms": forward_s * 1e3, "full_ms": full_s * 1e3, "ratio": full_s / forward_s}
        out[name].update({f"view_{k}_ms": v * 1e3 for k, v in views.items()})
    return out


def bench_references(name: str, repeats: int) -> dict[str, float]:
    """Reference points: naive matplotlib bars (one ax.bar per block) and our Grad-CAM, as ratios to forward."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from visualiser.analysis import recorded_forward
    from visualiser.media import load_image
    from visualiser.pipeline import analyse_pixels
    from visualiser.preprocess import preprocess_image

    loaded = _loaded(name)
    pixels = load_image(_photo_bytes())
    x, _, _ = preprocess_image(pixels, loaded.spec.preprocess)
    result = analyse_pixels(pixels, loaded)

    def forward() -> None:
        with torch.no_grad():
            loaded.model(x)

    def naive() -> None:
        blocks = [b for b in result.blocks if b.channel_gate is not None]
        fig = Figure(figsize=(16, 12))
        for i, b in enumerate(blocks):
            ax = fig.add_subplot(4, (len(blocks) + 3) // 4, i + 1)
            ax.bar(np.arange(b.channels), b.channel_gate)
        FigureCanvasAgg(fig).draw()

    def gradcam() -> None:
        recorded_forward(loaded.model, x, gradcam=True)

    forward_s = median_time(forward, repeats)
    return {
        "naive_matplotlib_over_forward": median_time(naive, max(1, repeats // 2)) / forward_s,
        "gradcam_over_forward": median_time(gradcam, repeats) / forward_s,
    }


def bench_conv3d(quick: bool) -> dict[str, float]:
    """Frames per second of the 3D-convolution animation (with H.264 encoding) and the matplotlib reference."""
    from tools.conv3d_bench import measure

    return measure(quick=quick)


def bench_clip(names: Sequence[str], frames: int, repeats: int = 1) -> dict[str, float]:
    """Clip analysis with overlays (what ``/analyse_clip`` does after decoding), in frames per second, per model."""
    from visualiser.media import Clip
    from visualiser.pipeline import analyse_decoded_clip
    from visualiser.render.clips import attention_video

    rng = np.random.default_rng(0)
    video = rng.integers(0, 255, (frames, 360, 480, 3), dtype=np.uint8)
    clip = Clip(video, np.arange(frames) / 8.0, 8.0, frames / 8.0, (480, 360))
    out = {}
    for name in names:
        loaded = _loaded(name)
        with tempfile.TemporaryDirectory() as tmp:

            def run(loaded: object = loaded, tmp: str = tmp) -> None:
                attention_video(analyse_decoded_clip(clip, loaded), Path(tmp) / "a.mp4")  # type: ignore[arg-type]

            seconds = median_time(run, repeats, warmup=1)
        out[name] = frames / seconds
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(module_args: list[str], timeout_s: float = 60) -> tuple[subprocess.Popen, str, float]:
    """Start ``python <module_args>`` on a free loopback port; return it, its URL and the seconds to first answer."""
    port = _free_port()
    env = dict(
        os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False"
    )
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *module_args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - t0 < timeout_s:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"{' '.join(module_args)} did not answer within {timeout_s:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def bench_app(repeats: int) -> dict[str, float]:
    """Cold start of ``python app.py`` to a served page; the client round trip over a direct call; the floor.

    The floor is the same gradio_client call to ``tools.echo_app``, an endpoint that does nothing: what
    Gradio and gradio_client cost on this machine whatever the app does.
    """
    from gradio_client import Client, handle_file

    from visualiser import catalogue
    from visualiser.ui import views

    model = catalogue.default_model("image")
    variants = iter(range(1, 1_000_000))
    with tempfile.TemporaryDirectory() as tmp:

        def fresh_photo() -> str:
            """A new file each call: both sides cache by content, and both should analyse for real."""
            path = Path(tmp) / f"photo{next(variants)}.jpg"
            path.write_bytes(_photo_bytes(variant=next(variants)))
            return str(path)

        def call(client: Client) -> object:
            return client.predict(handle_file(fresh_photo()), model, api_name="/analyse_image")

        proc, url, cold = _serve(["app.py"])
        echo, echo_url = None, ""
        try:
            echo, echo_url, _ = _serve(["-m", "tools.echo_app"])  # started after, so the cold start is alone
            ours, nothing = Client(url, verbose=False), Client(echo_url, verbose=False)
            remote, floor = paired_median_times(lambda: call(ours), lambda: call(nothing), repeats)
            rss = _rss_mb(proc.pid)
        finally:
            for running in (proc, echo):
                if running is not None:
                    _stop(running)
        endpoint = views.png_files(views.analyse_image)  # what /analyse_image runs, minus the error boundary
        direct = median_time(lambda: endpoint(fresh_photo(), model), repeats)
    return {
        "cold_start_s": cold,
        "api_overhead_ms": (remote - direct) * 1e3,
        "api_floor_ms": floor * 1e3,
        "api_round_trip_ms": remote * 1e3,
        "api_direct_ms": direct * 1e3,
        "server_rss_mb": rss,
    }


def rss_probe() -> None:
    """Print the peak RSS (MB) of a fresh process holding the embedded models and SE-ResNet-50, after one
    analysis with each: what a Space holds once a visitor picked an ImageNet model."""
    from visualiser.models.registry import list_specs
    from visualiser.pipeline import analyse_pixels

    torch.set_num_threads(2)
    pixels = np.asarray(Image.open(io.BytesIO(_photo_bytes())).convert("RGB"))
    names = [s.name for s in list_specs() if s.embedded] + [IMAGENET_ARCHS[0]]
    for name in names:
        loaded = _loaded(name)
        if loaded.spec.task == "image":
            analyse_pixels(pixels, loaded, gradcam=True)
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a big parent would inflate it
    print(_rss_mb(os.getpid()))


def peak_rss_mb() -> float:
    """``rss_probe`` in a subprocess, so the figure is not inflated by everything else this run loaded."""
    code = "from tools.bench import rss_probe; rss_probe()"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


TARGETS = {
    "image_over_forward": ("≤ 3×", lambda v: v <= 3.0),
    "conv3d_animation_fps": ("≥ 60 frames/s", lambda v: v >= 60),
    "conv3d_animation_speedup": ("≥ 20×", lambda v: v >= 20),
    "clip_fps_embedded": ("≥ 25 frames/s", lambda v: v >= 25),
    "clip_fps_seresnet50": ("≥ 8 frames/s", lambda v: v >= 8),
    "api_overhead_ms": ("≤ 150 ms", lambda v: v <= 150),
    "cold_start_s": ("≤ 8 s", lambda v: v <= 8),
    "peak_rss_mb": ("≤ 1500 MB", lambda v: v <= 1500),
}


def markdown_table(report: dict) -> str:
    """The README's performance table."""
    rows = ["| measure | measured | target | met |", "|---|---|---|---|"]

    def row(label: str, key: str, value: float, unit: str) -> None:
        target, ok = TARGETS[key]
        rows.append(f"| {label} | {value:.2f}{unit} | {target} | {'yes' if ok(value) else 'no'} |")

    for name, ratio in report["image_over_forward"].items():
        if name in IMAGENET_ARCHS:
            row(f"image analysis / forward, {name}", "image_over_forward", ratio, "×")
    for name, ratio in report["image_over_forward"].items():
        if name not in IMAGENET_ARCHS:
            rows.append(f"| image analysis / forward, {name} | {ratio:.2f}× | – | – |")
    row("3D-conv animation, 640×360 incl. H.264", "conv3d_animation_fps", report["conv3d_animation_fps"], " fps")
    row("3D-conv animation vs matplotlib voxels", "conv3d_animation_speedup", report["conv3d_animation_speedup"], "×")
    clip = report["clip_fps"]
    for name, fps in clip.items():
        key = "clip_fps_seresnet50" if name.startswith("seresnet50") else "clip_fps_embedded"
        row(f"clip analysis with overlays, {name}", key, fps, " fps")
    for key, label, unit in (
        ("api_overhead_ms", "gradio_client round trip − direct call", " ms"),
        ("cold_start_s", "cold start of app.py to ready", " s"),
        ("peak_rss_mb", "peak RSS, embedded + one ImageNet model", " MB"),
    ):
        if key in report:
            row(label, key, report[key], unit)
    if "api_floor_ms" in report:
        floor = report["api_floor_ms"]
        rows.append(f"| reference: gradio_client round trip, endpoint that does nothing | {floor:.0f} ms | – | – |")
        above = report["api_overhead_ms"] - floor
        rows.append(f"| reference: API overhead above that floor | {above:+.0f} ms | – | – |")
    refs = report.get("references", {})
    for key, value in refs.items():
        rows.append(f"| reference: {key.replace('_', ' ')} | {value:.2f}× | – | – |")
    return "\n".join(rows)


def run(quick: bool) -> dict:
    """All measurements; ``quick`` uses fewer repeats, smaller clips and only the two ResNet-50s of the targets."""
    from visualiser.models.registry import list_specs
    from visualiser.models.weights import weights_available

    torch.manual_seed(0)
    repeats = 3 if quick else 9
    embedded = [s.name for s in list_specs("image") if s.embedded and weights_available(s)]
    imagenet = [s.name for s in list_specs("image") if not s.embedded]
    image_models = embedded + (list(IMAGENET_ARCHS) if quick else imagenet)
    image = bench_image(image_models, repeats)
    report: dict = {
        "quick": quick,
        "torch_threads": torch.get_num_threads(),
        "image": image,
        "image_over_forward": {k: v["ratio"] for k, v in image.items()},
        "references": bench_references(IMAGENET_ARCHS[0], repeats),
    }
    conv = bench_conv3d(quick)
    report["conv3d"] = conv
    report["conv3d_animation_fps"] = conv["fps"]
    report["conv3d_animation_speedup"] = conv["speedup"]
    clip_models = [m for m in ("shapes_cbam",) if m in embedded] + ["seresnet50.a1_in1k"]
    report["clip_fps"] = bench_clip(clip_models, 8 if quick else 16, 1 if quick else 3)
    report.update(bench_app(3 if quick else 30))
    report["peak_rss_mb"] = peak_rss_mb()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point used by ``python -m visualiser bench``."""
    parser = argparse.ArgumentParser(prog="python -m visualiser bench")
    parser.add_argument("command", nargs="?", default="bench")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about a minute); what CI runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    report = run(args.quick)
    print(markdown_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
