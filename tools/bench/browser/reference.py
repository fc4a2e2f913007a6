"""In-process references for the browser rows: the model's own work for the same model and input, in this process.

A browser row's time minus the echo floor is what the app adds to Gradio's own floor; minus the figures here
it is what the app adds beyond the network (and, for the Clip and 3D tabs, beyond the encoding the targets
allow). Each is timed in the bench's process just before the pair it belongs to (both pages prepared and
idle), so it shares that moment's load as the echo click does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.bench.subjects import bare_forward, loaded_model, model_input
from tools.bench.timing import median_time

FORWARD_REPEATS = 3


@dataclass(frozen=True)
class Work:
    """The model's own work for one kind of action: what it is called, and how to time it once."""

    name: str
    seconds: Callable[[], float]


NO_WORK = Work("nothing", lambda: 0.0)


def image_forward(name: str, photo: bytes, times: int = 1) -> Work:
    """``times`` bare forward passes of ``name`` on the bench's photo, preprocessed as the app does."""
    loaded = loaded_model(name)
    _, x = model_input(loaded, photo)
    bare_forward(loaded, x)  # warm-up

    def seconds() -> float:
        return times * median_time(lambda: bare_forward(loaded, x), FORWARD_REPEATS, warmup=0)

    return Work("forward" if times == 1 else f"{times} × forward", seconds)


def clip_work(clip: Path, model: str, frames: int) -> Work:
    """The Clip tab's allowed work: the sampled frames' forward pass(es), then writing the attention video."""
    import numpy as np

    from visualiser.media import load_clip
    from visualiser.pipeline import analyse_decoded_clip
    from visualiser.preprocess import preprocess_clip, preprocess_image
    from visualiser.ui.views.clip import attention_video
    from visualiser.ui.views.files import new_output_path

    loaded = loaded_model(model)
    is_3d = loaded.spec.task == "clip"
    decoded = load_clip(clip, num_frames=(loaded.spec.preprocess.frames or frames) if is_3d else frames)
    if is_3d:
        wanted = loaded.spec.preprocess.frames or len(decoded.frames)
        index = np.linspace(0, len(decoded.frames) - 1, wanted).round().astype(int)
        batches = [preprocess_clip(decoded.frames[index], loaded.spec.preprocess)[0]]
    else:
        import torch

        tensors = [preprocess_image(frame, loaded.spec.preprocess)[0] for frame in decoded.frames]
        batches = [torch.cat(tensors[i : i + 8]) for i in range(0, len(tensors), 8)]
    result = analyse_decoded_clip(decoded, loaded)

    def once() -> None:
        for x in batches:
            bare_forward(loaded, x)
        attention_video(result, new_output_path("bench", ".mp4"))

    return Work("frames' forward + encoding", lambda: median_time(once, 1, warmup=0))


def conv3d_work(fresh_clip: Callable[[], Path]) -> Work:
    """The 3D tab's own work in process on a new copy of the clip: plan, draw every step, encode (defaults)."""
    from visualiser.settings import Conv3dSettings
    from visualiser.ui.views.conv3d import conv3d_animation

    def seconds() -> float:
        clip = str(fresh_clip())  # new bytes: the plan is cached per clip content
        return median_time(lambda: conv3d_animation(clip, Conv3dSettings()), 1, warmup=0)

    return Work("animation work in process", seconds)
