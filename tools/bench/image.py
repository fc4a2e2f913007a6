"""Image figures: full analysis and the eager views against the bare forward pass, and two reference points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tools.bench.subjects import bare_forward, loaded_model, model_input, photo_bytes
from tools.bench.timing import median_time, paired_median_times


def bench_image(names: Sequence[str], repeats: int) -> dict[str, dict[str, float]]:
    """Full analysis (decode → every eager chart and heatmap) against the bare forward pass, per model.

    Also each eager view alone, in ms, on that model's result.
    """
    from visualiser.media import load_image
    from visualiser.pipeline import analyse_pixels
    from visualiser.render import eager_views, render_all

    photo = photo_bytes()
    out: dict[str, dict[str, float]] = {}
    for name in names:
        loaded = loaded_model(name)
        pixels, x = model_input(loaded, photo)
        forward_s, full_s = paired_median_times(
            lambda loaded=loaded, x=x: bare_forward(loaded, x),
            lambda loaded=loaded: render_all(analyse_pixels(load_image(photo), loaded)),
            repeats,
        )
        result = analyse_pixels(pixels, loaded)
        out[name] = {"forward_ms": forward_s * 1e3, "full_ms": full_s * 1e3, "ratio": full_s / forward_s}
        for view, draw in eager_views().items():
            seconds = median_time(lambda draw=draw, result=result: draw(result), repeats)
            out[name][f"view_{view}_ms"] = seconds * 1e3
    return out


def bench_eager_views(name: str, repeats: int) -> dict[str, float]:
    """Every eager view of a result with Grad-CAM (``render_all``), interleaved with the bare forward pass.

    This is the figure that used to be a timing assertion in the render tests: on a ResNet-50 with CBAM
    (16 blocks, spatial gates from 56² to 7², a 640×480 photo) the views must stay well below the forward
    pass, because the Image tab draws them all with every analysis.
    """
    from visualiser.pipeline import analyse_pixels
    from visualiser.render import render_all

    loaded = loaded_model(name)
    pixels, x = model_input(loaded, photo_bytes())
    result = analyse_pixels(pixels, loaded, gradcam=True)
    forward_s, views_s = paired_median_times(lambda: bare_forward(loaded, x), lambda: render_all(result), repeats)
    return {
        "model_blocks": float(len(result.blocks)),
        "views": float(len(render_all(result))),
        "forward_ms": forward_s * 1e3,
        "eager_views_ms": views_s * 1e3,
        "eager_views_over_forward": views_s / forward_s,
    }


def bench_references(name: str, repeats: int) -> dict[str, float]:
    """Reference points: naive matplotlib bars (one ax.bar per block) and our Grad-CAM, as ratios to forward."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from visualiser.analysis import recorded_forward
    from visualiser.pipeline import analyse_pixels

    loaded = loaded_model(name)
    pixels, x = model_input(loaded, photo_bytes())
    result = analyse_pixels(pixels, loaded)

    def naive() -> None:
        blocks = [b for b in result.blocks if b.channel_gate is not None]
        fig = Figure(figsize=(16, 12))
        for i, b in enumerate(blocks):
            ax = fig.add_subplot(4, (len(blocks) + 3) // 4, i + 1)
            ax.bar(np.arange(b.channels), b.channel_gate)
        FigureCanvasAgg(fig).draw()

    forward_s, gradcam_s = paired_median_times(
        lambda: bare_forward(loaded, x), lambda: recorded_forward(loaded.model, x, gradcam=True), repeats
    )
    forward_for_naive, naive_s = paired_median_times(lambda: bare_forward(loaded, x), naive, max(1, repeats // 2))
    return {
        "naive_matplotlib_over_forward": naive_s / forward_for_naive,
        "gradcam_over_forward": gradcam_s / forward_s,
    }
