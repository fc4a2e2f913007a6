"""Clips: sample frames → one 3-D pass over the clip, or an image model on each frame → ``ClipResult``."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from visualiser.analysis import recorded_forward, top_predictions
from visualiser.analysis.forward import ScoresFn
from visualiser.errors import InputError
from visualiser.media import Clip, load_clip, source_sha1
from visualiser.models.defaults import default_model
from visualiser.paths import source_name
from visualiser.pipeline.finite import require_finite
from visualiser.pipeline.foreign import ModelChoice, Preprocessing, found_modules, resolve_model, result_note
from visualiser.pipeline.image import analyse_frames
from visualiser.pipeline.models import LoadedModel, checkpoint_provenance, outside_notice
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
    sha1: str | None = None,
) -> ClipResult:
    """Analyse a clip: one 3-D pass over the sampled frames, or a 2-D pass per frame.

    ``model`` may be any ``torch.nn.Module``: an image network runs frame by frame; a clip network
    (``preprocess=Preprocess(frames=T, ...)``) sees the whole clip (see ``pipeline.foreign``). ``sha1``: the
    file's SHA-1 when the caller has it already (see ``analyse_image``).
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
    digest = source_sha1(clip) if sha1 is None else sha1
    return analyse_decoded_clip(decoded, loaded, top_k, progress, timings, source_name(clip), digest)


def analyse_decoded_clip(
    decoded: Clip,
    loaded: LoadedModel,
    top_k: int = 5,
    progress: ProgressFn | None = None,
    timings: dict[str, float] | None = None,
    source: str = "",
    sha1: str = "",
) -> ClipResult:
    """The clip analysis proper, for decoded frames and a ready model (3-D: one pass; 2-D: batched frames).

    ``source`` and ``sha1`` name the file the frames came from ("" for frames without one).
    """
    timings = dict(timings or {})
    if loaded.spec.task == "clip":
        frames = pad_frames(decoded.frames, loaded.spec.preprocess.frames or len(decoded.frames))
        x, crops, geometry = preprocess_clip(frames, loaded.spec.preprocess)
        t1 = time.perf_counter()
        record = recorded_forward(loaded.model, x, foreign=loaded.foreign)
        timings["forward_s"] = time.perf_counter() - t1
        require_finite(record, loaded.spec.title)
        probabilities = record.probabilities[0]
        if progress:
            progress(1.0, "done")
        return ClipResult(
            **_shared(loaded, decoded, probabilities, top_k, timings, source, sha1),
            blocks=record.blocks[0],
            input_frames=crops,
            geometry=geometry,
            note=result_note(loaded, record.note),
        )
    t1 = time.perf_counter()
    per_frame = analyse_frames(decoded.frames, loaded, top_k=top_k, progress=progress)
    timings["forward_s"] = time.perf_counter() - t1
    probabilities = np.mean([r.probabilities for r in per_frame], axis=0)
    return ClipResult(
        **_shared(loaded, decoded, probabilities, top_k, timings, source, sha1),
        per_frame=tuple(per_frame),
        geometry=per_frame[0].geometry,
        note=per_frame[0].note,
    )


def _shared(
    loaded: LoadedModel,
    decoded: Clip,
    probabilities: np.ndarray,
    top_k: int,
    timings: dict[str, float],
    source: str,
    source_sha1: str,
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
        "source": source,
        "source_sha1": source_sha1,
        "outside_notice": outside_notice(loaded, source_sha1),
    }


def pad_frames(frames: np.ndarray, wanted: int) -> np.ndarray:
    """A 3-D net needs exactly ``wanted`` frames: short clips repeat frames evenly (stated in the docs)."""
    if len(frames) == wanted:
        return frames
    index = np.linspace(0, len(frames) - 1, wanted).round().astype(int)
    return frames[index]
