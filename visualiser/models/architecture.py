"""A checkpoint's architecture, from its keys and shapes: which layout saved it, then which network it is.

The layout (``layouts.detect_layout``) decides the family: 2-D ResNets are read by ``infer.infer_resnet``,
torchvision-style video ResNets by ``infer_video.infer_video``; both share ``infer``'s helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from visualiser.errors import WeightsError
from visualiser.models.infer import Inference, Misfit, infer_resnet
from visualiser.models.infer_video import infer_video
from visualiser.models.layouts import SIGNATURES, detect_layout
from visualiser.models.weights.remap import rename_keys
from visualiser.models.weights.strict import shapes_of


def infer_architecture(state: Mapping[str, object], source: str) -> Inference:
    """The config a checkpoint fits, or a WeightsError naming what does not.

    ``state`` maps the keys as saved (wrappers removed) to shapes, or to tensors (meta ones do): only shapes
    are read, so a file is judged before any of its tensors is built.
    """
    original = shapes_of(state)
    layout = detect_layout(original)
    if layout is None:
        shown = ", ".join(f"{_key(k)} {s}" for k, s in list(original.items())[:6])
        raise WeightsError(
            f"{source} does not look like any ResNet layout we build: none of {'; '.join(SIGNATURES)} is there. "
            f"It holds {len(original)} tensors: {shown}{', ...' if len(original) > 6 else ''}"
        )
    shapes = renamed_shapes(original, layout.key_map)
    try:
        if layout.task == "clip":
            return infer_video(shapes, layout)
        return infer_resnet(shapes, layout)
    except Misfit as misfit:
        raise WeightsError(f"{source} is in the {layout.title} but fits none of our ResNets: {misfit}") from None


def renamed_shapes(shapes: Mapping[str, Sequence[int]], key_map: str) -> dict[str, tuple[int, ...]]:
    """The shapes under our key names."""
    return {ours: tuple(shapes[theirs]) for ours, theirs in rename_keys(shapes, key_map).items()}


def _key(key: str, limit: int = 60) -> str:
    return key if key.isprintable() and len(key) <= limit else repr(key)[: limit - 1] + "…"
