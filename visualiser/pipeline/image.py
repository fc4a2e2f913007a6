"""Images: decode → preprocess → recorded forward → ``ImageResult``; also frames of a clip through an image model."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from visualiser.analysis import ForwardRecord, recorded_forward, top_predictions
from visualiser.analysis.forward import ScoresFn
from visualiser.media import load_image, source_sha1
from visualiser.models.defaults import default_model
from visualiser.paths import source_name
from visualiser.pipeline.domain import domain_check, domain_layers
from visualiser.pipeline.finite import require_finite
from visualiser.pipeline.foreign import ModelChoice, Preprocessing, found_modules, prepare_image, resolve_model
from visualiser.pipeline.models import LoadedModel, check_task, checkpoint_provenance
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
) -> ImageResult:
    """Analyse one image: top-k predictions and every attention block's gates from one forward pass.

    ``model`` is a registry name or any ``torch.nn.Module`` (your own network; see ``pipeline.foreign``
    for ``preprocess``, ``labels``, ``scores`` and ``feature_layer``). ``gradcam=True`` also runs a
    backward pass from the top-1 class through that same forward pass.
    """
    t0 = time.perf_counter()
    pixels = load_image(image)
    decode_s = time.perf_counter() - t0
    loaded = resolve_model(model, lambda: default_model("image"), preprocess, labels, scores, feature_layer)
    check_task(loaded, "image")
    result = analyse_pixels(pixels, loaded, top_k=top_k, gradcam=gradcam, timings={"decode_s": decode_s})
    return replace(result, source=source_name(image), source_sha1=source_sha1(image))


def analyse_pixels(
    pixels: np.ndarray,
    loaded: LoadedModel,
    top_k: int = 5,
    gradcam: bool = False,
    timings: dict[str, float] | None = None,
) -> ImageResult:
    """The image analysis proper, for decoded (H, W, 3) uint8 pixels and a ready model."""
    timings = dict(timings or {})
    t1 = time.perf_counter()
    x, crop, geometry = prepare_image(pixels, loaded)
    timings["preprocess_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    record = recorded_forward(loaded.model, x, gradcam=gradcam, foreign=loaded.foreign, keep=domain_layers(loaded))
    timings["forward_s"] = time.perf_counter() - t2
    require_finite(record, loaded.spec.title)
    return image_result(loaded, pixels, crop, geometry, record, 0, top_k, timings)


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
        record = recorded_forward(loaded.model, batch, foreign=loaded.foreign, keep=domain_layers(loaded))
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
        original_image=pixels,
        geometry=geometry,
        blocks=record.blocks[index],
        timings=dict(timings),
        gradcam=None if record.gradcam is None else record.gradcam[index],
        gradcam_class=None if record.gradcam_class is None else record.gradcam_class[index],
        domain_check=domain_check(loaded, record, index),
        modules=found_modules(loaded),
        note=record.note or "",
        checkpoint=checkpoint_provenance(loaded),
    )
