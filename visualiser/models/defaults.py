"""Which model each front end starts on: the embedded ones offline, ImageNet SE-ResNet-50 on a Space.

Torch-free, so the UI can fill its model lists before torch is imported; the pipeline and the catalogue
both use ``default_model``.
"""

from __future__ import annotations

import os

from visualiser.errors import VisualiserError
from visualiser.models.registry import list_specs
from visualiser.models.weights import weights_available
from visualiser.types import Task

DEFAULT_IMAGE_MODEL = "shapes_cbam"
DEFAULT_CLIP_MODEL = "motion_cbam3d"
SPACE_IMAGE_MODEL = "seresnet50.a1_in1k"


def default_model(task: Task = "image") -> str:
    """The model a front end starts on, and the pipeline's ``model=None``: the one choice for both.

    On a Hugging Face Space the ImageNet SE-ResNet-50 for images; otherwise the embedded default when its
    weights are here, else the first model whose weights are here, else the first registered one (loading it
    then says how to get its weights, so a page still builds and a command still says what is missing).
    """
    if task == "image" and os.environ.get("SPACE_ID"):
        return SPACE_IMAGE_MODEL
    specs = list_specs(task)
    if not specs:
        raise VisualiserError(f"no {task} model is registered")
    preferred = DEFAULT_IMAGE_MODEL if task == "image" else DEFAULT_CLIP_MODEL
    here = [spec.name for spec in specs if weights_available(spec)]
    return preferred if preferred in here else (here or [specs[0].name])[0]
