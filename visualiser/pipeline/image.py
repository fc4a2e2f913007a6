"""Images: decode → preprocess → recorded forward → ``ImageResult``; also frames of a clip through an image model."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from visualiser.analysis import ForwardRecord, recorded_forward, top_predictions
from visualiser.analysis.forward import ScoresFn
from visualiser.media import source_sha1
from visualiser.media.bands import load_input, picture_of
from visualiser.models.defaults import default_model
from visualiser.paths import source_name
from visualiser.pipeline.finite import require_finite
from visualiser.pipeline.foreign import (
    ModelChoice,
    Preprocessing,
    found_modules,
    input_channels,
    prepare_image,
    resolve_model,
    result_note,
)
from visualiser.pipeline.models import LoadedModel, check_task, checkpoint_provenance, outside_notice
from visualiser.result import CropGeometry, ImageResult
from visualiser.types import ImageSource, ProgressFn

FRAME_BATCH = 8  # frames per forward pass for image models on clips: ~25 % faster than one by one on 2 CPUs


def analyse_image(
    image: ImageSource,
    model: ModelChoice = None,
    top_k: int = 5,
    gradcam: bool = False,
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    scores: ScoresFn | None = None,
    feature_layer: str | None = None,
    sha1: str | None = None,
) -> ImageResult:
    """Analyse one image: top-k predictions and every attention block's gates from one forward pass.

    ``model`` is a registry name or any ``torch.nn.Module`` (your own network; see ``pipeline.foreign``
    for ``preprocess``, ``labels``, ``scores`` and ``feature_layer``). ``gradcam=True`` also runs a
    backward pass from the top-1 class through that same forward pass. ``sha1``: the input file's SHA-1
    when the caller has computed it already (the app keys its cache on it), so the file is hashed once.
    """
    t0 = time.perf_counter()
    pixels = load_input(image, input_channels(model, preprocess, lambda: default_model("image")))
    decode_s = time.perf_counter() - t0
    loaded = resolve_model(model, lambda: default_model("image"), preprocess, labels, scores, feature_layer)
    check_task(loaded, "image")
    digest = source_sha1(image) if sha1 is None else sha1
    return analyse_pixels(pixels, loaded, top_k, gradcam, {"decode_s": decode_s}, source_name(image), digest)


def analyse_pixels(
    pixels: np.ndarray,
    loaded: LoadedModel,
    top_k: int = 5,
    gradcam: bool = False,
    timings: dict[str, float] | None = None,
    source: str = "",
    sha1: str = "",
) -> ImageResult:
    """The image analysis proper, for a decoded (H, W, 3) uint8 picture (or a network's bands) and a ready model.

    ``source`` and ``sha1`` name the file the pixels came from ("" for pixels without one).
    """
    timings = dict(timings or {})
    t1 = time.perf_counter()
    x, crop, geometry = prepare_image(pixels, loaded)
    timings["preprocess_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    record = recorded_forward(loaded.model, x, gradcam=gradcam, foreign=loaded.foreign)
    timings["forward_s"] = time.perf_counter() - t2
    require_finite(record, loaded.spec.title)
    result = image_result(loaded, pixels, crop, geometry, record, 0, top_k, timings)
    return replace(result, source=source, source_sha1=sha1, outside_notice=outside_notice(loaded, sha1))


def with_gradcam(result: ImageResult, model: ModelChoice = None) -> ImageResult:
    """``result`` again with the Grad-CAM of its top-1 class: the same pixels through the same network, the file's
    name and SHA-1 kept. ``model`` is needed only for a network not registered by name (an ``nn.Module``)."""
    if result.gradcam is not None:
        return result
    loaded = resolve_model(model if model is not None else result.model, lambda: result.model)
    check_task(loaded, "image")
    top_k = len(result.predictions) or 5
    return analyse_pixels(result.original_image, loaded, top_k, True, {}, result.source, result.source_sha1)


def analyse_frames(
    frames: Sequence[np.ndarray] | np.ndarray,
    loaded: LoadedModel,
    top_k: int = 5,
    progress: ProgressFn | None = None,
) -> tuple[ImageResult, ...]:
    """Each frame through an image model, ``FRAME_BATCH`` frames per forward pass (each gets its own gates)."""
    results: list[ImageResult] = []
    n = len(frames)
    for start in range(0, n, FRAME_BATCH):
        chunk = frames[start : start + FRAME_BATCH]
        t1 = time.perf_counter()
        prepared = [prepare_image(frame, loaded) for frame in chunk]
        t2 = time.perf_counter()
        batch = torch.cat([x for x, _, _ in prepared])
        record = recorded_forward(loaded.model, batch, foreign=loaded.foreign)
        t3 = time.perf_counter()
        require_finite(record, loaded.spec.title)
        share = {"preprocess_s": (t2 - t1) / len(chunk), "forward_s": (t3 - t2) / len(chunk)}
        for i, (frame, (_, crop, geometry)) in enumerate(zip(chunk, prepared, strict=True)):
            results.append(image_result(loaded, frame, crop, geometry, record, i, top_k, share))
        if progress:
            progress(0.1 + 0.9 * len(results) / n, f"frame {len(results)}/{n}")
    return tuple(results)


def image_result(
    loaded: LoadedModel,
    pixels: np.ndarray,
    crop: np.ndarray,
    geometry: CropGeometry,
    record: ForwardRecord,
    index: int,
    top_k: int,
    timings: dict[str, float],
) -> ImageResult:
    """Batch element ``index`` of a recorded pass as a frozen ``ImageResult``."""
    probabilities = record.probabilities[index]
    return ImageResult(
        model=loaded.spec.name,
        model_title=loaded.spec.title,
        predictions=top_predictions(probabilities, loaded.labels, top_k),
        probabilities=probabilities,
        input_image=crop,
        original_image=picture_of(pixels),
        geometry=geometry,
        blocks=record.blocks[index],
        timings=dict(timings),
        gradcam=None if record.gradcam is None else record.gradcam[index],
        gradcam_class=None if record.gradcam_class is None else record.gradcam_class[index],
        modules=found_modules(loaded),
        note=result_note(loaded, record.note),
        checkpoint=checkpoint_provenance(loaded),
    )
