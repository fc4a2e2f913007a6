"""The sentences around the views, in the reader's language: what is shown, what is pending, what failed.

Each is composed on the server (``views.phrases``) from a phrase in the language the page sends with every
event and the result's own words (the model's title, the input's name), so a banner is in one language whole.
Those words are escaped (``markdown_text``): a user's file name is shown as text, never as a link or an image.
"""

from __future__ import annotations

from visualiser.ui import views
from visualiser.ui.views.errors import UserMessage
from visualiser.ui.views.text import markdown_text


def banner_text(message: UserMessage, lang: str | None, template: str = "failed", **values: object) -> str:
    """Markdown for a banner: the short sentence, then the detail in a fold that stays closed until opened."""
    text = views.say(lang, template, short=message.short, **values)
    if message.detail:
        detail = message.detail.replace("<", "&lt;").replace(">", "&gt;")
        text += f"\n\n<details><summary>{views.say(lang, 'details')}</summary>\n\n{detail}\n\n</details>"
    return text


class Banners:
    """Banner and notice texts (stateless; one instance is shared by the tabs)."""

    def nothing(self, lang: str | None) -> str:
        """No result yet: how to get one."""
        return views.say(lang, "nothing")

    def failed(self, message: UserMessage, lang: str | None) -> str:
        """The last analysis failed: why, in one sentence, the detail folded; nothing below is left over."""
        return banner_text(message, lang)

    def pending(self, model: str | None, lang: str | None) -> str:
        """An analysis is running with this model."""
        return views.say(lang, "pending", model=markdown_text(views.model_title(model, lang)))

    def stale(self, model: str | None, lang: str | None) -> str:
        """The input or the model changed since the last result."""
        return views.say(lang, "stale", model=markdown_text(views.model_title(model, lang)))

    def showing(self, caption: str, lang: str | None) -> str:
        """Which result every view below belongs to."""
        return views.say(lang, "showing", caption=caption)

    def domain(self, model: str | None, lang: str | None) -> str:
        """What the chosen network learned (beside the model list)."""
        known = views.model_domain(model, views.language(lang))
        return views.say(lang, "domain", known=markdown_text(known)) if known else ""

    def animating(self, lang: str | None) -> str:
        """The 3D convolution is being planned and encoded."""
        return views.say(lang, "animating")

    def animation_stale(self, lang: str | None) -> str:
        """The clip or the settings changed since the animation on screen."""
        return views.say(lang, "animation_stale")
