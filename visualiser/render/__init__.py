"""Pure renderers: frozen results (and scores from ``pipeline.result_scores``) in, pictures out.

Nothing here runs a network, imports torch or the models, or computes a metric. Building blocks:
``text`` (the one typeface), ``colour`` (the one palette), ``compose`` (stacking, captions, colour bars,
messages), ``figures`` (matplotlib Figures on Agg), ``canvas_map`` (a gate's cells on the picture).
Views: ``predictions``, ``channels``, ``spatial``, ``internals``, ``reference``, ``clips``, ``conv3d``;
``eager`` is the set drawn with every analysis and ``bundle`` writes them all to files.

``render_all`` and ``eager_views`` are imported lazily (PEP 562), so importing a submodule such as
``visualiser.render.conv3d`` does not pull in every renderer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["eager_views", "render_all"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from visualiser.render import eager

        return getattr(eager, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
