"""What the benchmark measures on: models (trained weights where present, else deterministic ones) and a photo."""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from visualiser.paths import EXAMPLES_DIR

if TYPE_CHECKING:
    import torch

    from visualiser.pipeline import LoadedModel

IMAGENET_ARCHS = ("seresnet50.a1_in1k", "cbam_resnet50")  # the two ResNet-50s the targets are stated for
PHOTO_SIZE = (640, 480)


def loaded_model(name: str) -> LoadedModel:
    """The model as the app loads it; with deterministic weights where its own cannot be had (no download here).

    The speed of a network does not depend on its weights' values, so ImageNet models are measured without
    their checkpoints on a machine that cannot download them.
    """
    from visualiser.labels import load_labels
    from visualiser.models.deterministic import with_seeded_weights
    from visualiser.models.registry import get_spec
    from visualiser.models.weights import weights_available
    from visualiser.pipeline import LoadedModel, get_model

    spec = get_spec(name)
    if weights_available(spec):
        return get_model(name)
    return LoadedModel(spec, with_seeded_weights(spec.builder()), load_labels(spec.labels))


def photo_bytes(variant: int = 0) -> bytes:
    """A 640×480 JPEG of the first example photo; each ``variant`` is other bytes and other pixels.

    The app's caches key on the file's bytes (uploads) or on the pixels (Grad-CAM of a stored result), so a
    new variant is analysed for real: a 16×16 corner patch takes a colour from ``variant``. (Changing one pixel
    was not enough: near black it quantised to the same JPEG, so every variant was one file, and every call
    after the first a cache hit.)
    """
    examples = sorted(EXAMPLES_DIR.rglob("*.jpg"))
    if examples:
        image = Image.open(examples[0]).convert("RGB").resize(PHOTO_SIZE)
    else:
        rng = np.random.default_rng(0)
        image = Image.fromarray(rng.integers(0, 255, (PHOTO_SIZE[1], PHOTO_SIZE[0], 3), dtype=np.uint8))
    if variant:
        colour = tuple(hashlib.sha1(f"variant {variant}".encode(), usedforsecurity=False).digest()[:3])
        image.paste(colour, (0, 0, 16, 16))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def model_input(loaded: LoadedModel, photo: bytes) -> tuple[np.ndarray, torch.Tensor]:
    """The decoded photo and the tensor the model's forward pass takes for it."""
    from visualiser.media import load_image
    from visualiser.preprocess import preprocess_image

    pixels = load_image(photo)
    x, _, _ = preprocess_image(pixels, loaded.spec.preprocess)
    return pixels, x


def bare_forward(loaded: LoadedModel, x: torch.Tensor) -> None:
    """The network alone, without recording anything: the denominator of every ratio."""
    import torch

    with torch.no_grad():
        loaded.model(x)
