"""Pieces every tab of the Gradio UI shares: an image input that keeps the raw file, PNG outputs, examples."""

from __future__ import annotations

import base64
from typing import Any

import gradio as gr

from visualiser import catalogue
from visualiser.errors import VisualiserError
from visualiser.ui.views.files import as_png_path


def image_source(payload: Any) -> str | bytes | None:
    """The uploaded image as our decoder wants it: the file's server path, or the bytes of a data URL.

    Image events run with ``preprocess=False``: the stock component opens every upload with Pillow
    before our code runs, so a corrupt file or a decompression bomb would fail inside Gradio with a
    generic message, while ``visualiser.media.load_image`` checks limits first and explains what is
    wrong. Gradio still checks, before this point, that the path is an upload or a cached file.
    (A ``gr.Image`` subclass would do the same, but Gradio writes a ``.pyi`` stub next to any module
    that defines a component class.)
    """
    if payload is None or isinstance(payload, str | bytes):
        return payload
    data = payload if isinstance(payload, dict) else payload.model_dump()
    url = data.get("url") or ""
    if not data.get("path") and url.startswith("data:"):
        return base64.b64decode(url.partition(",")[2])
    if not data.get("path"):
        raise VisualiserError("the image upload arrived without a file; please upload it again")
    return str(data["path"])


def image_input(label: Any, height: int, elem_id: str | None = None) -> gr.Image:
    """An image input (upload, webcam, clipboard) whose events must use ``preprocess=False``."""
    return gr.Image(
        label=label, type="filepath", sources=["upload", "webcam", "clipboard"], height=height, elem_id=elem_id
    )


LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]

HEAVY = "heavy"  # events that run a network or encode video share one pool sized for 2 CPUs
LIGHT = "light"  # redraws from a stored result


def image_examples(embedded_first: bool = True) -> list[str]:
    """Example images (``catalogue.example_files``), as paths the Examples component takes."""
    return [str(p) for p in catalogue.example_files("image", embedded_first)]


def clip_examples(embedded_first: bool = True) -> list[str]:
    """Example clips (``catalogue.example_files``), as paths the Examples component takes."""
    return [str(p) for p in catalogue.example_files("clip", embedded_first)]


def png_image(label: Any, **kwargs: Any) -> gr.Image:
    """An output image sent as PNG (Gradio's default WebP would blur heatmap colours)."""
    kwargs.setdefault("buttons", ["download", "fullscreen"])
    kwargs.setdefault("elem_classes", ["figure-out"])  # CSS puts the label above the figure, sized to it
    return gr.Image(label=label, type="numpy", format="png", interactive=False, **kwargs)


def figure_note(elem_id: str) -> gr.Markdown:
    """The sentence that stands in for a figure this result cannot have (hidden while the figure is drawn)."""
    return gr.Markdown("", visible=False, elem_id=elem_id, elem_classes=["panel-note"])


def picture(component: gr.components.Component, shown: Any) -> dict:
    """``{component: update}`` drawing a view's picture or figure, hidden when the view is empty.

    RGB arrays and matplotlib figures are written as fast PNGs (``views.write_png``, zlib level 1: Gradio would
    encode at level 6, and ``gr.Plot`` rasterises a figure once more); file paths pass as they are.
    """
    return {component: gr.update(value=as_png_path(shown.value), visible=shown.drawn)}


def note(component: gr.components.Component, text: str) -> dict:
    """``{component: update}`` showing ``text`` (hidden when there is nothing to say)."""
    return {component: gr.update(value=text, visible=bool(text))}


def figure_or_note(figure: gr.components.Component, why: gr.components.Component, shown: Any) -> dict:
    """A view's figure, or (hidden figure) its note saying why there is none."""
    return {**picture(figure, shown), **note(why, shown.note)}
