"""Learn tab: the explanations in English and Chinese, read from ``visualiser/learn/<language>/*.md``."""

from __future__ import annotations

from functools import lru_cache

from visualiser.errors import InputError, VisualiserError
from visualiser.paths import LEARN_DIR

LANGUAGES = ("en", "zh")


@lru_cache(maxsize=4)
def learn_sections(language: str) -> tuple[str, ...]:
    """The Learn tab's markdown, one string per topic, in ``en`` or ``zh``."""
    if language not in LANGUAGES:
        raise InputError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    files = sorted((LEARN_DIR / language).glob("*.md"))
    if not files:
        raise VisualiserError(f"the Learn text for {language!r} is missing from this installation")
    return tuple(f.read_text(encoding="utf-8") for f in files)
