"""Plain-text pieces of the views: predictions as a label mapping, timings as one line, a model's title and domain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from visualiser import catalogue
from visualiser.result import Prediction
from visualiser.ui.views.phrases import EN, say

Label = dict[str, float]


def predictions_label(predictions: Iterable[Prediction]) -> Label:
    """Predictions as the ``{label: probability}`` mapping a label widget shows.

    Two classes with the same display name keep both entries (the second gets its class index).
    """
    out: Label = {}
    for p in predictions:
        name = p.label if p.label not in out else f"{p.label} (#{p.index})"
        out[name] = float(p.probability)
    return out


def timings_text(timings: Mapping[str, float], lang: str = "en") -> str:
    """``decode 3 ms · preprocess 2 ms · forward 41 ms`` from the result's timings."""
    parts = []
    for key, value in dict(timings).items():
        name = key.removesuffix("_s")
        word = say(lang, f"timing_{name}") if f"timing_{name}" in EN else name
        parts.append(f"{word} {say(lang, 'ms', value=f'{1000 * float(value):.0f}')}")
    return " · ".join(parts)


def model_title(model: str | None, lang: str = "en") -> str:
    """The model's display title (what the banners name)."""
    if model is None:
        return say(lang, "the_default_model")
    from visualiser.models.registry import get_spec

    return get_spec(model).title


def model_domain(model: str | None, lang: str = "en") -> str:
    """What the model learned, in one line ("" when nothing is known)."""
    return catalogue.model_domain(model, lang)
