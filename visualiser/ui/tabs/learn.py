"""The Learn tab: SE, CAM, SAM, CBAM and 3D convolution in our own words, in English and Chinese.

The text lives in ``visualiser/learn/<language>/*.md`` and follows the page's language switch (on page load
and whenever the reader changes it). It is sent by the server rather than through ``gr.I18n``: the front
end's translation strings use ICU message syntax, in which the braces of every LaTeX formula would be read
as placeholders.
"""

from __future__ import annotations

import gradio as gr

from visualiser.ui import views
from visualiser.ui.boundary import guarded
from visualiser.ui.components import LATEX_DELIMITERS
from visualiser.ui.tabs.flow import Chain, TabHooks


def build_learn_tab(language: gr.Radio) -> TabHooks:
    """Lay out the Learn tab; its hooks put the text in the page's language on arrival and after a switch."""
    sections = [
        gr.Markdown(text, latex_delimiters=LATEX_DELIMITERS, elem_classes=["learn"], elem_id=f"learn-{i}")
        for i, text in enumerate(views.learn_sections("en"))
    ]

    def texts(lang: str) -> dict:
        return dict(zip(sections, views.learn_sections(views.language(lang)), strict=True))

    def follow(after: Chain) -> None:
        after(guarded(texts), inputs=[language], outputs=sections, api_visibility="private", queue=False)

    return TabHooks(follow, follow)
