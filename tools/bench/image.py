"""Image figures: one Image-tab click in process against the bare forward pass, its views, two reference points.

The click is the tab's own: ``tab_replay.TabReplay`` runs the events a click on ``#image-run`` starts, as the
page chains them (one since the click answers in one round trip), through Gradio's ``process_api`` (so
Gradio's encoding counts),
on a new photo each time (the app caches results by content). ``IMAGE_TAB_VIEWS`` lists the
``visualiser.ui.views`` functions that click reaches; a test replays the click and holds the list to it.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from itertools import count
from pathlib import Path

import numpy as np

from tools.bench.subjects import bare_forward, loaded_model, model_input, photo_bytes
from tools.bench.timing import interleaved_times, paired_median_times

# The visualiser.ui.views functions the Image tab's one event calls directly for one click on Analyse (the
# analysis, every view on screen, the predictions and summary, the banner's phrase, the PNG writer).
# tests/test_bench_replay.py replays the built tab's click and holds this list to what it calls: when the tab
# changes, the test fails until the bench's rows (and the README's words about them) are checked again.
IMAGE_TAB_VIEWS = frozenset(
    {"analysed_image", "image_views", "predictions_label", "result_summary", "say", "write_png"}
)
CLICK_EVENT = "analyse_and_draw"  # the click's one event: the analysis and every view on screen, in one answer


def image_click(names: Sequence[str], repeats: int) -> dict[str, dict[str, float]]:
    """Per model: one Image-tab click replayed in process (every event), interleaved with the bare forward pass.

    Figures: ``forward_ms``, ``click_ms`` (all events of the click: one since the click answers in one round
    trip), ``ratio`` (click / forward), ``views_ms`` (the click above its forward pass, from the least times:
    decoding, the views and Gradio's encoding) and ``event_<name>_ms``.
    """
    from tools.bench.tab_replay import TabReplay, deterministic_weights

    out: dict[str, dict[str, float]] = {}
    variants = count(1)
    with tempfile.TemporaryDirectory() as tmp, deterministic_weights(names):
        replay = TabReplay()
        for name in names:
            loaded = loaded_model(name)
            _, x = model_input(loaded, photo_bytes())
            events: dict[str, list[float]] = defaultdict(list)

            def click(name: str = name, events: dict = events) -> None:
                photo = Path(tmp) / f"photo-{next(variants)}.jpg"
                photo.write_bytes(photo_bytes(variant=next(variants)))
                replay.set("image-model", name)
                replay.upload("image-input", photo)
                runs = replay.click("image-run")
                for run in runs:
                    events[run.name].append(run.seconds)

            forwards, clicks = interleaved_times((lambda loaded=loaded, x=x: bare_forward(loaded, x), click), repeats)
            forward_s, click_s = statistics.median(forwards), statistics.median(clicks)
            out[name] = {
                "forward_ms": forward_s * 1e3,
                "click_ms": click_s * 1e3,
                "ratio": click_s / forward_s,
                # the click above its forward pass, from the least times: a busy machine only adds to a run (a
                # stalled forward can take 100× its time), so a difference of medians can even come out negative
                "views_ms": (min(clicks) - min(forwards)) * 1e3,
                **{f"event_{event}_ms": statistics.median(t[1:] or t) * 1e3 for event, t in events.items()},
            }
    return out


def attention_blocks(name: str) -> int:
    """How many attention blocks the model records (for the row's reader: 16 on the ResNet-50s)."""
    from visualiser.media import load_image
    from visualiser.pipeline import analyse_pixels

    return len(analyse_pixels(load_image(photo_bytes()), loaded_model(name)).blocks)


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
