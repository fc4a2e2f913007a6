"""The built app's events called as Gradio calls them (no server): what each returns fits what it may update.

Views are updated by ``{component: update}`` mappings; a key outside the event's outputs would fail in
Gradio at run time. These tests run the Image and Clip tabs' steps on real (small) results of every model kind
and check the keys, and call every redraw with no result (a display option changed before any analysis).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pytest

from visualiser.ui import views


@pytest.fixture()
def demo(built_demo):
    return built_demo


def _by_id(demo: gr.Blocks) -> dict[str, Any]:
    return {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}


def _events(demo: gr.Blocks, elem_id: str, trigger: str) -> list[Any]:
    component = _by_id(demo)[elem_id]
    return [f for f in demo.fns.values() if (component._id, trigger) in f.targets and f.fn is not None]


def _call(fn: Any, values: dict[Any, Any]) -> Any:
    """Call an event function with the inputs Gradio would pass (by component), the request left out."""
    args = [values.get(component, getattr(component, "value", None)) for component in fn.inputs]
    return fn.fn(*args)


@pytest.mark.parametrize(("elem_id", "trigger"), [
    ("image-alpha", "input"), ("image-cmap", "input"), ("image-normalise", "input"), ("image-sort", "input"),
    ("image-block", "select"), ("image-gradcam-run", "click"), ("image-intervene", "click"),
    ("image-bundle-prepare", "click"), ("clip-frame", "input"), ("clip-block", "select"),
    ("clip-bundle-prepare", "click"), ("conv3d-step", "input"),
])  # fmt: skip
def test_every_option_changed_before_any_result_does_nothing_harmful(demo, elem_id, trigger):
    events = _events(demo, elem_id, trigger)
    assert events, f"no event on {elem_id}"
    for event in events:
        states = {c: None for c in event.inputs if isinstance(c, gr.State)}
        out = _call(event, states)
        assert isinstance(out, dict)
        assert set(out) <= set(event.outputs), elem_id
        assert all(not isinstance(v, gr.Error) for v in out.values())


@pytest.mark.parametrize("model", ["fake_plain", "fake_se", "fake_cbam", "fake_eca"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_image_views_update_only_what_their_event_outputs(demo, fake_inputs, model, lang):
    ids = _by_id(demo)
    language = ids["language"]
    result = views.image_result(str(fake_inputs.image), model)
    state = next(c for c in _events(demo, "image-alpha", "input")[0].inputs if isinstance(c, gr.State))
    shows = [f for f in demo.fns.values() if state in f.inputs and ids["image-showing"] in f.outputs
             and ids["image-sort"] in f.inputs]  # fmt: skip
    assert shows
    folds = _folds_state(demo)
    figures = {"image-overview": "image-channel-note", "image-grid": "image-spatial-note"} | {
        f: f"{f}-note" for f in ("image-channel-internals", "image-spatial-internals", "image-reference")
    }
    folded = {"image-channel-internals", "image-spatial-internals", "image-reference"}  # drawn when their fold opens
    for show in shows:
        for open_folds in (frozenset(views.FOLDS), frozenset()):
            out = _call(show, {state: result, folds: open_folds, language: lang})
            assert set(out) <= set(show.outputs)
            assert out[ids["image-showing"]].startswith("**Showing:**" if lang == "en" else "**当前显示：**")
            sections = [out[ids[k]] for k in ("image-channel-section", "image-spatial-section", "image-more-section")]
            assert all(s["visible"] for s in sections)
            for figure, why in figures.items():
                drawn = out[ids[figure]]["visible"]
                said = out[ids[why]]["visible"] and out[ids[why]]["value"]
                if open_folds or figure not in folded:
                    assert drawn or said, (model, figure)  # a view is drawn, or its note says why not
                else:
                    assert not drawn and not said, (model, figure)  # a closed fold waits until it is opened
        blank = _call(show, {state: None, language: lang})
        assert not any(blank[ids[k]]["visible"] for k in ("image-channel-section", "image-spatial-section"))
    for fold in ("image-internals-fold", "image-reference-fold", "image-barcode-fold"):  # opened: drawn or said
        (opened,) = _events(demo, fold, "expand")
        out = _call(opened, {state: result, folds: frozenset(), language: lang})
        assert fold.split("-")[1] in out[folds]
        pictures = [c for c in opened.outputs if isinstance(c, gr.Image)]
        assert pictures and all(
            out[c]["visible"] or out[ids[f"{c.elem_id}-note"]]["value"] for c in pictures
        ), (model, fold)


def _folds_state(demo: gr.Blocks) -> gr.State:
    """The page's open folds (a ``gr.State`` the folds' expand events write)."""
    (opened,) = _events(demo, "image-reference-fold", "expand")
    return next(c for c in opened.outputs if isinstance(c, gr.State))


def test_the_mute_slider_is_bounded_by_the_selected_block(demo, fake_inputs):
    ids = _by_id(demo)
    result = views.image_result(str(fake_inputs.image), "fake_cbam")
    (event,) = _events(demo, "image-block", "select")
    state = next(c for c in event.inputs if isinstance(c, gr.State))
    out = _call(event, {state: result, ids["image-block"]: "layer1.0.se", ids["language"]: "en"})
    assert out[ids["image-mute"]]["maximum"] == 8 and out[ids["image-mute"]]["value"] == 5
    out = _call(event, {state: result, ids["image-block"]: "layer4.0.se", ids["language"]: "en"})
    assert out[ids["image-mute"]]["maximum"] == 64
