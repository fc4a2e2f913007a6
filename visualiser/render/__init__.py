"""Pure renderers: frozen results in, figures, arrays or files out; nothing here runs a network.

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
