"""The one lazy boundary between the UI and the heavy modules: torch (the pipeline, uploaded networks) and
matplotlib (the renderers).

The page is built and served before any of them is imported (cold start). The views import these names at
the top of their modules, where readers and tools see them, and each module is imported by Python's own import
system on the first attribute looked up in it, once; after that a lookup is one dictionary read. Nothing else
in ``visualiser/ui`` imports a heavy module inside a function.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any


class OnFirstUse:
    """A module imported on the first attribute looked up in it (``getattr`` passes through to the module)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str) -> Any:
        module = sys.modules.get(self._name)
        if module is None or getattr(module.__spec__, "_initializing", False):
            # another thread may be importing it right now: the import system waits for it to finish
            module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<{self._name}, imported on first use>"


if TYPE_CHECKING:
    from visualiser import pipeline
    from visualiser.media import digest
    from visualiser.models import uploads
    from visualiser.pipeline import conv3d as conv3d_plans
    from visualiser.render import bundle, channels, clips, compose, figures, internals, reference, spatial
    from visualiser.render import conv3d as conv3d_render
else:
    pipeline = OnFirstUse("visualiser.pipeline")
    conv3d_plans = OnFirstUse("visualiser.pipeline.conv3d")
    uploads = OnFirstUse("visualiser.models.uploads")
    digest = OnFirstUse("visualiser.media.digest")
    bundle = OnFirstUse("visualiser.render.bundle")
    channels = OnFirstUse("visualiser.render.channels")
    clips = OnFirstUse("visualiser.render.clips")
    compose = OnFirstUse("visualiser.render.compose")
    figures = OnFirstUse("visualiser.render.figures")
    internals = OnFirstUse("visualiser.render.internals")
    reference = OnFirstUse("visualiser.render.reference")
    spatial = OnFirstUse("visualiser.render.spatial")
    conv3d_render = OnFirstUse("visualiser.render.conv3d")  # its drawing and PyAV load on first use (PEP 562)

HEAVY_MODULES = (
    "visualiser.pipeline", "visualiser.pipeline.conv3d", "visualiser.models.uploads", "visualiser.media.digest",
    "visualiser.render.bundle", "visualiser.render.channels", "visualiser.render.clips", "visualiser.render.compose",
    "visualiser.render.figures", "visualiser.render.internals", "visualiser.render.reference",
    "visualiser.render.spatial", "visualiser.render.conv3d.animate",
)  # fmt: skip


def import_all() -> None:
    """Import every heavy module now (the warm-up thread, right after the server is up)."""
    for name in HEAVY_MODULES:
        importlib.import_module(name)
