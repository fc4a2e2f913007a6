"""Plain-text pieces of the views: predictions as a label mapping, timings as one line, a model's title and domain."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from visualiser import catalogue
from visualiser.errors import ModelNotFoundError
from visualiser.models.registry import get_spec
from visualiser.result import Prediction
from visualiser.ui.views.phrases import EN, say

Label = dict[str, float]
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")  # what starts a link, an image, emphasis, code or HTML


def markdown_text(text: object) -> str:
    """``text`` as literal Markdown: markup characters backslash-escaped, line breaks as spaces (user strings)."""
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def shown_title(result: object) -> str:
    """A result's model title for Markdown (an upload's title holds its file name: text, never a link)."""
    return markdown_text(getattr(result, "model_title", ""))


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
    """The model's display title (what the banners name); a name no longer registered (an evicted upload) as is."""
    if model is None:
        return say(lang, "the_default_model")

    try:
        return get_spec(model).title
    except ModelNotFoundError:
        return model[:80]


def model_domain(model: str | None, lang: str = "en") -> str:
    """What the model learned, in one line ("" when nothing is known, or the model is no longer registered)."""
    try:
        return catalogue.model_domain(model, lang)
    except ModelNotFoundError:
        return ""
