"""The sentences around the views, in the reader's language: what is shown, what is pending, what failed.

Each is a translated phrase (``gr.I18n``, resolved in the browser) followed by the result's own words (the
model's title, the input's name), so the banners follow the interface language like the labels do.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from visualiser.ui import views


class Banners:
    """Banner and notice texts for one app's ``gr.I18n``."""

    def __init__(self, i18n: gr.I18n) -> None:
        self.i18n = i18n

    def nothing(self) -> Any:
        """No result yet: how to get one."""
        return self.i18n("banner_nothing")

    def failed(self) -> Any:
        """The last analysis failed: nothing below is left over from an earlier one."""
        return self.i18n("banner_failed")

    def pending(self, model: str | None) -> Any:
        """An analysis is running with this model."""
        return self.i18n("banner_pending") + f" **{views.model_title(model)}** …"

    def stale(self, model: str | None) -> Any:
        """The input or the model changed since the last result."""
        return self.i18n("banner_stale") + f" **{views.model_title(model)}**"

    def showing(self, caption: str) -> Any:
        """Which result every view below belongs to."""
        return self.i18n("banner_showing") + f" {caption}"

    def domain(self, model: str | None) -> Any:
        """What the chosen network learned (beside the model list)."""
        known = views.model_domain(model)
        return self.i18n("domain_prefix") + f" {known}" if known else ""

    def animating(self) -> Any:
        """The 3D convolution is being planned and encoded."""
        return self.i18n("banner_animating")

    def animation_stale(self) -> Any:
        """The clip or the settings changed since the animation on screen."""
        return self.i18n("banner_animation_stale")
