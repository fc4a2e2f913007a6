"""Which model each front end starts on: the embedded ones offline, ImageNet SE-ResNet-50 on a Space.

Torch-free, so the UI can fill its model lists before torch is imported. The one ``default_model``: the
pipeline, the CLI and the UI (through ``catalogue``) all start on the model it names.
"""

from __future__ import annotations

import os

from visualiser.errors import ModelNotFoundError
from visualiser.models.registry import get_spec, list_specs
from visualiser.models.weights import weights_available
from visualiser.types import Task

DEFAULT_IMAGE_MODEL = "shapes_cbam"
DEFAULT_CLIP_MODEL = "motion_cbam3d"
SPACE_IMAGE_MODEL = "seresnet50.a1_in1k"


def default_model(task: Task = "image") -> str:
    """The one default: on a Hugging Face Space the ImageNet SE-ResNet-50 for images, else the embedded model.

    When the preferred model's weights are not here, the first of the app's own models whose weights are; when
    none has them, the preferred one anyway, whose first use then says how to fetch its weights. Never a
    network a user registered. Raises ModelNotFoundError only when no model of the task exists at all.
    """
    if task == "image" and os.environ.get("SPACE_ID"):
        return SPACE_IMAGE_MODEL
    preferred = DEFAULT_IMAGE_MODEL if task == "image" else DEFAULT_CLIP_MODEL
    specs = [s for s in list_specs(task) if not s.provided_by_user]
    names = [s.name for s in specs]
    if preferred in names and weights_available(get_spec(preferred)):
        return preferred
    for spec in specs:
        if weights_available(spec):
            return spec.name
    if names:
        return preferred if preferred in names else names[0]
    raise ModelNotFoundError(f"no {task} model is registered")
