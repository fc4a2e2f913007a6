"""Plain-text pieces of the views: predictions as a label mapping, timings as one line."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from visualiser import catalogue
from visualiser.result import Prediction

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


def timings_text(timings: Mapping[str, float]) -> str:
    """``decode 3 ms · preprocess 2 ms · forward 41 ms`` from the result's timings."""
    parts = [f"{k.removesuffix('_s')} {1000 * float(v):.0f} ms" for k, v in dict(timings).items()]
    return " · ".join(parts)


NOTHING_SHOWN = "**No result yet.** Pick an example or upload an input, then press **Analyse**."
FAILED_TEXT = (
    "**No result:** the last analysis failed (the message says why). Nothing below belongs to an earlier result."
)


def domain_text(model: str | None) -> str:
    """The line beside the model list: what the chosen network learned (so nobody reads it as more)."""
    domain = catalogue.model_domain(model)
    return f"**What this model knows:** {domain}" if domain else ""


def pending_text(model: str | None) -> str:
    """The banner while an analysis runs: the old views are gone, the new ones are on their way."""
    return f"Analysing with **{_title(model)}** ..."


def stale_text(model: str | None) -> str:
    """The banner after the input or the model changed: nothing shown belongs to what is selected now."""
    return f"**No result for this input yet:** press **Analyse** to run **{_title(model)}** on it."


def showing_text(caption: str, when: str = "") -> str:
    """The banner above the views: which result every view below belongs to."""
    return f"**Showing:** {caption}" + (f" · {when}" if when else "")


def _title(model: str | None) -> str:
    if model is None:
        return "the default model"
    from visualiser.models.registry import get_spec

    return get_spec(model).title
