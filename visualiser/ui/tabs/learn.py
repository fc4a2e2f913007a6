"""The Learn tab: SE, CAM, SAM, CBAM and 3D convolution in our own words, in English and Chinese.

The text lives in ``visualiser/learn/<language>/*.md``. It is shown per language through a radio
rather than through ``gr.I18n``: the front end's translation strings use ICU message syntax, in
which the braces of every LaTeX formula would be read as placeholders. The radio starts in the
browser's language.
"""

from __future__ import annotations

import gradio as gr

from visualiser.ui import views
from visualiser.ui.boundary import guarded
from visualiser.ui.components import LATEX_DELIMITERS

LANGUAGE_CHOICES = [("English", "en"), ("中文", "zh")]

# Runs in the browser on page load: pick the radio value from the browser's language list.
BROWSER_LANGUAGE_JS = """
() => {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (const tag of langs) {
    const t = String(tag).toLowerCase();
    if (t.startsWith("zh")) return "zh";
    if (t.startsWith("en")) return "en";
  }
  return "en";
}
"""


def build_learn_tab(i18n: gr.I18n) -> tuple[gr.Radio, list[gr.Markdown]]:
    """Lay out the Learn tab; returns the language radio and the section widgets."""
    language = gr.Radio(choices=LANGUAGE_CHOICES, value="en", label=i18n("learn_language"), elem_id="learn-language")
    sections = [
        gr.Markdown(text, latex_delimiters=LATEX_DELIMITERS, elem_classes=["learn"], elem_id=f"learn-{i}")
        for i, text in enumerate(views.learn_sections("en"))
    ]
    language.change(
        guarded(lambda lang: list(views.learn_sections(lang))),
        inputs=[language],
        outputs=sections,
        api_visibility="private",
        queue=False,
    )
    return language, sections
