"""Clips: sample frames → one 3-D pass over the clip, or an image model on each frame → ``ClipResult``."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from visualiser.analysis import recorded_forward, top_predictions
from visualiser.analysis.forward import ScoresFn
from visualiser.errors import InputError
from visualiser.media import Clip, load_clip, source_sha1
from visualiser.models.defaults import default_model
from visualiser.paths import source_name
from visualiser.pipeline.domain import domain_check, domain_layers
from visualiser.pipeline.foreign import ModelChoice, Preprocessing, found_modules, resolve_model
from visualiser.pipeline.image import analyse_frames
from visualiser.pipeline.models import LoadedModel, checkpoint_provenance
from visualiser.preprocess import preprocess_clip
from visualiser.result import ClipResult
from visualiser.types import ProgressFn


def analyse_clip(
    clip: str | os.PathLike | np.ndarray | Clip,
    model: ModelChoice = None,
    max_frames: int = 16,
    top_k: int = 5,
    progress: ProgressFn | None = None,
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    scores: ScoresFn | None = None,
) -> ClipResult:
    """Analyse a clip: one 3-D pass over the sampled frames, or a 2-D pass per frame.

    ``model`` may be any ``torch.nn.Module``: an image network runs frame by frame; a clip network
    (``preprocess=Preprocess(frames=T, ...)``) sees the whole clip (see ``pipeline.foreign``).
    """
    timings: dict[str, float] = {}
    loaded = resolve_model(model, lambda: default_model("clip"), preprocess, labels, scores)
    is_3d = loaded.spec.task == "clip"
    frames_wanted = loaded.spec.preprocess.frames or max_frames if is_3d else max_frames
    if frames_wanted < 1:
        raise InputError("frames to sample must be at least 1")
    t0 = time.perf_counter()
    decoded = clip if isinstance(clip, Clip) else load_clip(clip, num_frames=frames_wanted)
    timings["decode_s"] = time.perf_counter() - t0
    if progress:
        progress(0.1, f"decoded {len(decoded.frames)} frames")
    result = analyse_decoded_clip(decoded, loaded, top_k, progress, timings)
    return replace(result, source=source_name(clip), source_sha1=source_sha1(clip))


def analyse_decoded_clip(
    decoded: Clip,
    loaded: LoadedModel,
    top_k: int = 5,
    progress: ProgressFn | None = None,
    timings: dict[str, float] | None = None,
) -> ClipResult:
    """The clip analysis proper, for decoded frames and a ready model (3-D: one pass; 2-D: batched frames)."""
    timings = dict(timings or {})
    if loaded.spec.task == "clip":
        frames = pad_frames(decoded.frames, loaded.spec.preprocess.frames or len(decoded.frames))
        x, crops, geometry = preprocess_clip(frames, loaded.spec.preprocess)
        t1 = time.perf_counter()
        record = recorded_forward(loaded.model, x, foreign=loaded.foreign, keep=domain_layers(loaded))
        timings["forward_s"] = time.perf_counter() - t1
        probabilities = record.probabilities[0]
        if progress:
            progress(1.0, "done")
        return ClipResult(
            **_shared(loaded, decoded, probabilities, top_k, timings),
            blocks=record.blocks[0],
            input_frames=crops,
            geometry=geometry,
            domain_check=domain_check(loaded, record, 0),
            note=record.note or "",
        )
    t1 = time.perf_counter()
    per_frame = analyse_frames(decoded.frames, loaded, top_k=top_k, progress=progress)
    timings["forward_s"] = time.perf_counter() - t1
    probabilities = np.mean([r.probabilities for r in per_frame], axis=0)
    return ClipResult(
        **_shared(loaded, decoded, probabilities, top_k, timings),
        per_frame=tuple(per_frame),
        geometry=per_frame[0].geometry,
        note=per_frame[0].note,
    )


def _shared(
    loaded: LoadedModel, decoded: Clip, probabilities: np.ndarray, top_k: int, timings: dict[str, float]
) -> dict[str, Any]:
    """The fields every clip result has, whichever way the network saw the clip."""
    return {
        "model": loaded.spec.name,
        "model_title": loaded.spec.title,
        "frames": decoded.frames,
        "timestamps": decoded.timestamps,
        "predictions": top_predictions(probabilities, loaded.labels, top_k),
        "probabilities": probabilities,
        "timings": timings,
        "modules": found_modules(loaded),
        "checkpoint": checkpoint_provenance(loaded),
    }


def pad_frames(frames: np.ndarray, wanted: int) -> np.ndarray:
    """A 3-D net needs exactly ``wanted`` frames: short clips repeat frames evenly (stated in the docs)."""
    if len(frames) == wanted:
        return frames
    index = np.linspace(0, len(frames) - 1, wanted).round().astype(int)
    return frames[index]
