"""3D convolution sliding over the user's own clip, drawn with numpy + Pillow and encoded with PyAV.

Typical use::

    spec = teaching_kernel("temporal_difference")  # or pipeline.conv3d.kernel_from_conv3d(model.stem[0])
    plan = plan_animation(clip_uint8, spec, cells=(8, 16, 16))
    render_mp4(plan, "conv3d.mp4")

The names below are imported lazily (PEP 562): the catalogue reads ``render.conv3d.kernels`` at app
start-up for the kernel names, which must not pull in Pillow drawing and PyAV.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers
    from visualiser.render.conv3d.animate import frame_at, render_gif, render_mp4
    from visualiser.render.conv3d.kernels import TEACHING_KERNELS, teaching_kernel
    from visualiser.render.conv3d.plan import (
        AnimationPlan,
        StepTerms,
        current_cell,
        plan_animation,
        prepare_grid,
        step_terms,
    )
    from visualiser.render.conv3d.spec import (
        Conv3dSpec,
        output_shape,
        parameter_counts,
        parameter_text,
        shape_formula_text,
    )

_HOME = {
    "TEACHING_KERNELS": "kernels",
    "teaching_kernel": "kernels",
    "Conv3dSpec": "spec",
    "output_shape": "spec",
    "parameter_counts": "spec",
    "parameter_text": "spec",
    "shape_formula_text": "spec",
    "prepare_grid": "plan",
    "AnimationPlan": "plan",
    "StepTerms": "plan",
    "current_cell": "plan",
    "plan_animation": "plan",
    "step_terms": "plan",
    "frame_at": "animate",
    "render_gif": "animate",
    "render_mp4": "animate",
}

__all__ = [
    "TEACHING_KERNELS",
    "AnimationPlan",
    "Conv3dSpec",
    "StepTerms",
    "current_cell",
    "frame_at",
    "output_shape",
    "parameter_counts",
    "parameter_text",
    "plan_animation",
    "prepare_grid",
    "render_gif",
    "render_mp4",
    "shape_formula_text",
    "step_terms",
    "teaching_kernel",
]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
