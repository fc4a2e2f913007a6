"""Serving figures: cold start of ``app.py``, the API's overhead over a direct call and its floor, memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from itertools import count
from pathlib import Path

from tools.bench.subjects import IMAGENET_ARCHS, loaded_model, photo_bytes
from tools.bench.timing import interleaved_median_times
from tools.server import AppServer, Memory
from visualiser.paths import APP_PATH, REPO_ROOT


def bench_app(repeats: int) -> dict[str, float]:
    """Cold start of ``python app.py`` to a served page; the client round trip over a direct call; the floor.

    The floor is the same gradio_client call to ``tools.echo_app``, an endpoint that does nothing: what
    Gradio and gradio_client cost on this machine whatever the app does. Both servers are ``AppServer``s
    (loopback, private folders, offline); the echo app starts after the app, so the cold start is alone.
    """
    from gradio_client import Client, handle_file

    from visualiser import catalogue
    from visualiser.ui import views

    model = catalogue.default_model("image")
    variants = count(1)
    with tempfile.TemporaryDirectory() as tmp:

        def fresh_photo() -> str:
            """A new file each call: both sides cache by content, and both should analyse for real."""
            path = Path(tmp) / f"photo{next(variants)}.jpg"
            path.write_bytes(photo_bytes(variant=next(variants)))
            return str(path)

        def call(client: Client) -> object:
            return client.predict(handle_file(fresh_photo()), model, api_name="/analyse_image")

        endpoint = views.png_files(views.analyse_image)  # what /analyse_image runs, minus the error boundary
        with AppServer(APP_PATH, startup_timeout_s=120) as app, AppServer.echo() as echo:
            ours, nothing = Client(app.url, verbose=False), Client(echo.url, verbose=False)
            # in turn, so the three share the load of each moment (each one a new photo: a real analysis)
            remote, floor, direct = interleaved_median_times(
                (lambda: call(ours), lambda: call(nothing), lambda: endpoint(fresh_photo(), model)), repeats
            )
            cold, served = app.startup_s, app.memory()
    return {
        "cold_start_s": cold,
        "api_overhead_ms": (remote - direct) * 1e3,
        "api_floor_ms": floor * 1e3,
        "api_round_trip_ms": remote * 1e3,
        "api_direct_ms": direct * 1e3,
        "server_rss_mb": served.hwm_mb,
    }


def rss_probe() -> None:
    """Print the peak RSS (MB) of this process holding the embedded models and SE-ResNet-50, after one
    analysis with Grad-CAM on each: what a Space holds once a visitor picked an ImageNet model."""
    import numpy as np
    import torch

    from visualiser.media import load_image
    from visualiser.models.registry import list_specs
    from visualiser.pipeline import analyse_pixels

    torch.set_num_threads(2)
    pixels = np.asarray(load_image(photo_bytes()))
    names = [s.name for s in list_specs() if s.embedded] + [IMAGENET_ARCHS[0]]
    for name in names:
        loaded = loaded_model(name)
        if loaded.spec.task == "image":
            analyse_pixels(pixels, loaded, gradcam=True)
    print(Memory.of(os.getpid()).hwm_mb)


def peak_rss_mb() -> float:
    """``rss_probe`` in a fresh process, so the figure is not inflated by everything else this run loaded."""
    code = "from tools.bench.serving import rss_probe; rss_probe()"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])
