"""The page's languages: choice values never collide with translation keys, and a switch reaches every label.

Gradio's front end translates a component's string ``value`` when it equals a translation key, so a Radio
whose value was a key came back as its translated label after a re-mount and the next event refused it
(issue 15, item 1). These tests hold the class of bug closed for every choice in the built app.
"""

from __future__ import annotations

import gradio as gr
import pytest
from gradio.i18n import I18nData

from visualiser.ui.i18n import EN, KEY_PREFIX, ZH, build_i18n, relabel, translated_blocks, translation_keys


@pytest.fixture()
def demo(built_demo):
    return built_demo


def _choice_components(demo: gr.Blocks) -> list:
    kinds = (gr.Radio, gr.Dropdown, gr.CheckboxGroup)
    return [b for b in demo.blocks.values() if isinstance(b, kinds)]


def test_no_choice_value_is_a_translation_key(demo):
    keys = translation_keys(build_i18n())
    assert keys and all(k.startswith(KEY_PREFIX) for k in keys)
    components = _choice_components(demo)
    assert len(components) >= 8  # model lists, colour range, interventions, modes, groups, the language switch
    checked = 0
    for component in components:
        for _label, value in component.choices:
            assert not (isinstance(value, str) and value in keys), (component.elem_id, value)
            assert not isinstance(value, I18nData) and "__i18n__" not in str(value), (component.elem_id, value)
            checked += 1
        assert not (isinstance(component.value, str) and component.value in keys), component.elem_id
    assert checked > 20


def test_the_keys_are_namespaced_so_plain_words_are_not_keys():
    keys = translation_keys(build_i18n())
    for word in ("block", "shared", "fixed01", "identity", "mute", "3d", "2d_vs_3d", "embedded", "imagenet", "en",
                 "zh", "model", "frame", "step"):  # fmt: skip
        assert word not in keys
    assert set(EN) == set(ZH)


def test_a_switch_relabels_every_translated_label_tab_and_choice(demo):
    found = translated_blocks(demo.blocks.values())
    blocks = {id(b) for b, _, _ in found}
    tabs = [b for b in demo.blocks.values() if isinstance(b, gr.Tab)]
    assert len(tabs) == 5 and all(id(t) in blocks for t in tabs)  # tabs not yet opened are relabelled too
    keyed = [b for b in demo.blocks.values() if isinstance(getattr(b, "label", None), I18nData)]
    assert all(id(b) in blocks for b in keyed)
    updates = relabel(found, "zh")
    image_tab = next(t for t in tabs if t.elem_id == "tab-image")
    assert updates[image_tab]["label"] == ZH["tab_image"]
    normalise = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "image-normalise")
    assert updates[normalise]["choices"] == [(ZH["norm_block"], "block"), (ZH["norm_shared"], "shared"),
                                             (ZH["norm_fixed"], "fixed01")]  # fmt: skip
    texts = [v for u in updates.values() for k, v in u.items() if k in ("label", "info", "value")]
    assert texts and all(isinstance(t, str) and not t.startswith(KEY_PREFIX) for t in texts)


def test_the_page_offers_only_the_languages_it_has(demo):
    from visualiser.ui.shell import launch_kwargs

    switch = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "language")
    assert [v for _, v in switch.choices] == ["en", "zh"]
    kwargs = launch_kwargs()
    assert "settings" not in kwargs["footer_links"]  # Gradio's Settings would offer 33 languages
    assert "navigator" in kwargs["head"]  # the chosen language is what Gradio first draws labels in
