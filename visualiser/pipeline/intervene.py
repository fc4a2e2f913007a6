"""Interventions: predictions before and after forcing one block's gates, from two real forward passes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visualiser.analysis import recorded_forward, top_predictions
from visualiser.analysis.forward import ScoresFn
from visualiser.capture import InterventionMode
from visualiser.errors import InputError
from visualiser.media.bands import load_input
from visualiser.models.defaults import default_model
from visualiser.pipeline.finite import require_finite
from visualiser.pipeline.foreign import ModelChoice, Preprocessing, input_channels, prepare_image, resolve_model
from visualiser.pipeline.models import check_task
from visualiser.result import InterventionResult
from visualiser.types import ImageSource


def intervene(
    image: ImageSource,
    block: str,
    mode: InterventionMode = "identity",
    channels: Sequence[int] = (),
    mute_top: int = 0,
    model: ModelChoice = None,
    top_k: int = 5,
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    scores: ScoresFn | None = None,
) -> InterventionResult:
    """Predictions before and after overriding one block's gates (two real forward passes).

    ``mode="identity"``: the block's gates become 1 (attention removed). ``mode="mute"``: the listed
    channels, or the ``mute_top`` channels with the largest gate in the first pass, become 0. ``model``
    may be any ``torch.nn.Module`` with class scores (see ``pipeline.foreign``).
    """
    pixels = load_input(image, input_channels(model, preprocess, lambda: default_model("image")))
    loaded = resolve_model(model, lambda: default_model("image"), preprocess, labels, scores)
    check_task(loaded, "image")
    x, _, _ = prepare_image(pixels, loaded)
    before = recorded_forward(loaded.model, x, foreign=loaded.foreign)
    require_finite(before, loaded.spec.title)
    if before.note is not None:
        raise InputError(f"an intervention compares class scores; {before.note}")
    names = [b.name for b in before.blocks[0]]
    if block not in names:
        raise InputError(f"model {loaded.spec.name!r} has no attention block {block!r}; blocks: {', '.join(names)}")
    if mode not in ("identity", "mute"):
        raise InputError(f"intervention mode must be 'identity' or 'mute', not {mode!r}")
    chosen = list(channels)
    if mode == "mute":
        gate = next(b for b in before.blocks[0] if b.name == block).channel_gate
        if gate is None:
            raise InputError(f"block {block!r} has no channel gate to mute")
        if mute_top:
            chosen = sorted(int(i) for i in np.argsort(-gate, kind="stable")[:mute_top])
        bad = [c for c in chosen if not 0 <= c < gate.shape[0]]
        if bad or not chosen:
            raise InputError(f"channels to mute must be within 0..{gate.shape[0] - 1}; got {chosen}")
    forced = recorded_forward(loaded.model, x, foreign=loaded.foreign, overrides={block: (mode, chosen)})
    after = forced.probabilities[0]
    require_finite(forced, loaded.spec.title)
    if mode == "identity":
        description = f"{block}: every gate set to 1 (attention removed)"
    else:
        description = f"{block}: channels {chosen} muted (gate set to 0)"
    return InterventionResult(
        model=loaded.spec.name,
        description=description,
        before=top_predictions(before.probabilities[0], loaded.labels, top_k),
        after=top_predictions(after, loaded.labels, top_k),
        probabilities_before=before.probabilities[0],
        probabilities_after=after,
    )
