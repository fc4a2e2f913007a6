"""attention-visualiser: see what SE, CBAM and ECA gates do inside a CNN, and how 3D convolution slides over a clip.

The public API, imported on first use so that ``import visualiser`` stays light (no torch, no gradio)::

    visualiser.analyse_image(image, model=..., preprocess=..., labels=...)  # -> ImageResult
    visualiser.analyse_clip(clip, model=...)                                # -> ClipResult
    visualiser.watch(my_model)          # context manager: the gates of any nn.Module, recorded
    visualiser.register_module(my_model, ...)  # list your network under a name every front end can use
    visualiser.launch(my_model, preprocess=..., labels=...)  # the Gradio app on your network
    visualiser.dataset_statistics(my_model, "folder/", "out/")  # gate statistics over a whole dataset
"""

from __future__ import annotations

import importlib
from typing import Any

from visualiser import result as _result

__version__ = "0.1.0"

_API = {
    "analyse_image": "visualiser.pipeline",
    "analyse_clip": "visualiser.pipeline",
    "intervene": "visualiser.pipeline",
    "register_module": "visualiser.pipeline",
    "watch": "visualiser.capture",
    "launch": "visualiser.ui.shell",
    "dataset_statistics": "visualiser.dataset",
}
__all__ = ["__version__", *_API]

# Results draw themselves in notebooks through visualiser.render.notebook, a layer above visualiser.result: the
# root wires the two (imported on first display), so the result module never imports a renderer.
_result.use_notebook_drawer(lambda: importlib.import_module("visualiser.render.notebook"))


def __getattr__(name: str) -> Any:
    if name in _API:
        try:
            module = importlib.import_module(_API[name])
        except ModuleNotFoundError as err:
            if err.name != "gradio":
                raise
            raise ModuleNotFoundError(
                f"visualiser.{name} serves the Gradio app, which is an extra: pip install 'attention-visualiser[app]'",
                name="gradio",
            ) from err
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
