"""Which model each front end starts on: the embedded ones offline, ImageNet SE-ResNet-50 on a Space.

Torch-free, so the UI can fill its model lists before torch is imported. ``pipeline`` re-exports these.
"""

from __future__ import annotations

import os

from visualiser.errors import VisualiserError
from visualiser.models.registry import get_spec, list_specs
from visualiser.models.weights import weights_available
from visualiser.types import Task

DEFAULT_IMAGE_MODEL = "shapes_cbam"
DEFAULT_CLIP_MODEL = "motion_cbam3d"
SPACE_IMAGE_MODEL = "seresnet50.a1_in1k"


def default_model(task: Task = "image") -> str:
    """The embedded default, or on a Hugging Face Space the ImageNet SE-ResNet-50 for images."""
    if task == "image" and os.environ.get("SPACE_ID"):
        return SPACE_IMAGE_MODEL
    preferred = DEFAULT_IMAGE_MODEL if task == "image" else DEFAULT_CLIP_MODEL
    specs = list_specs(task)
    names = [s.name for s in specs]
    if preferred in names and weights_available(get_spec(preferred)):
        return preferred
    for spec in specs:
        if weights_available(spec):
            return spec.name
    raise VisualiserError(f"no {task} model has its weights on this machine; run `python -m visualiser models`")
