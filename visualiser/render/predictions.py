"""Top-k predictions as horizontal probability bars, drawn with Pillow (a few ms; eager view)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from visualiser.render.colour import BACKGROUND, MUTED, TEXT, as_rgb, lut
from visualiser.render.text import draw_text, shorten
from visualiser.render.words import say
from visualiser.result import Prediction

BAR_COLOUR = as_rgb(lut("viridis")[90])  # a mid-dark colormap colour, readable with black text beside it


def topk_chart(
    predictions: Sequence[Prediction],
    width: int = 460,
    row_height: int = 26,
    title: str | None = None,
    lang: str = "en",
) -> np.ndarray:
    """Horizontal bars of the predictions' probabilities (axis 0..100 %), labels on the left, values on the right."""
    header = 24 if title else 4
    height = header + row_height * max(1, len(predictions)) + 6
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw_text(canvas, (6, 4), title, 14)
    label_w = int(width * 0.42)
    value_w = 58
    bar_x0, bar_x1 = label_w + 6, width - value_w
    if not predictions:
        draw_text(canvas, (6, header + 4), say(lang, "no_predictions"), 13, MUTED)
    for i, p in enumerate(predictions):
        top = header + i * row_height
        middle = top + row_height / 2
        draw_text(canvas, (label_w, middle), shorten(p.label, label_w - 8, 13), 13, TEXT, anchor="rm")
        draw.rectangle((bar_x0, top + 4, bar_x1, top + row_height - 4), fill=(238, 238, 238))
        end = bar_x0 + (bar_x1 - bar_x0) * min(max(p.probability, 0.0), 1.0)
        if end > bar_x0:
            draw.rectangle((bar_x0, top + 4, end, top + row_height - 4), fill=BAR_COLOUR)
        draw_text(canvas, (width - 4, middle), f"{100 * p.probability:.1f}%", 13, TEXT, anchor="rm")
    return np.asarray(canvas)
