"""What a failure says where the user looks: one short sentence (what happened, what to do) and the detail.

The banner shows the short sentence and folds the detail away. In English a user error's own message is the
short sentence when it is short, else its first sentence with the rest in the detail; in Chinese the short
sentence says in Chinese what kind of failure it was and the detail keeps the exact English message. A
weights error names the model and keeps the commands that bring the weights in the detail. A bug says only
that it is one: its traceback is in the server log, never on the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from visualiser.errors import InputError, ModelNotFoundError, VisualiserError, WeightsError
from visualiser.models.registry import get_spec
from visualiser.models.weights.messages import WeightsUnavailableError
from visualiser.ui.views.phrases import language, say

SHORT_CHARS = 220  # a user error's message up to this length is the short sentence itself


@dataclass(frozen=True)
class UserMessage:
    """A failure as the page shows it: ``short`` always, ``detail`` behind a fold when there is more."""

    short: str
    detail: str = ""


def user_message(error: BaseException, lang: str | None = "en") -> UserMessage:
    """The short sentence and the detail for ``error`` in the reader's language."""
    lang = language(lang)
    if isinstance(error, WeightsUnavailableError):
        return UserMessage(say(lang, "error_weights_absent", model=_title(error.model)), error.message)
    if not isinstance(error, VisualiserError):
        return UserMessage(say(lang, "error_internal"))
    message = error.message.strip()
    if lang == "zh":
        key = (
            "error_input"
            if isinstance(error, InputError)
            else "error_weights"
            if isinstance(error, WeightsError)
            else "error_model"
            if isinstance(error, ModelNotFoundError)
            else "error_input"
        )
        return UserMessage(say(lang, key, message=message), message)
    if len(message) <= SHORT_CHARS:
        return UserMessage(sentence(message))
    first, rest = split_first_sentence(message)
    return UserMessage(sentence(first), message if rest else "")


def sentence(text: str) -> str:
    """``text`` as a sentence: the first word capitalised (unless it is a name: a file, a path, code), a full stop."""
    text = text.strip()
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "`")) else text + "."


def split_first_sentence(text: str) -> tuple[str, str]:
    """The first sentence of ``text`` and the rest (a sentence ends at ". " followed by a capital or a quote)."""
    match = re.search(r"[.;] (?=[A-Z`'\"(])", text)
    if match is None or match.start() > SHORT_CHARS:
        cut = text.rfind(" ", 0, SHORT_CHARS)
        cut = cut if cut > 0 else SHORT_CHARS
        return text[:cut].rstrip(",; ") + " …", text[cut:].strip()
    return text[: match.start() + 1], text[match.end() :]


def _title(name: str) -> str:

    try:
        return get_spec(name).title
    except VisualiserError:
        return name
