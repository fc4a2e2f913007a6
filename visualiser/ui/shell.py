"""The Gradio app: ``build_demo()`` lays out the five tabs, ``launch_kwargs()`` says how to serve them.

Each tab lives in ``visualiser/ui/tabs/`` (its layout and its events); the handlers behind them are plain
Python in ``visualiser/ui/views/``. Three events are public API endpoints (``/analyse_image``,
``/analyse_clip``, ``/conv3d_animation``), triggered by no component; every other event is private, and an
analysing tab answers a click in one round trip (``tabs/flow.py``). Nothing heavy is imported here: torch,
matplotlib and the pipeline sit behind one lazy boundary (``views/heavy.py``), and ``launch`` imports them and
loads the default models in a thread once the server is up (``views.warm_up``), so the page is served in a
few seconds and the first click does not pay for them either.

The page's language switch (English / 简体中文) sits at the top: on load it takes the browser's language,
then every tab's arrival example is drawn in it; a switch relabels every tab and redraws every view.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gradio as gr

if TYPE_CHECKING:  # torch loads when a model is first analysed, not when the page is built
    from torch import nn

    from visualiser.analysis.forward import ScoresFn
    from visualiser.pipeline.foreign import Preprocessing

from visualiser.models.checkpoints import max_checkpoint_bytes
from visualiser.paths import EXAMPLES_DIR
from visualiser.ui import views
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import guarded
from visualiser.ui.i18n import (
    DETECT_LANGUAGE_JS,
    EN,
    HEAD_JS,
    KEY_PREFIX,
    LANGUAGE_CHOICES,
    SWITCH_LOCALE_JS,
    build_i18n,
    relabel,
    translated_blocks,
)
from visualiser.ui.tabs.clip import layout_clip_tab
from visualiser.ui.tabs.clip_events import wire_clip_tab
from visualiser.ui.tabs.compare import build_compare_tab
from visualiser.ui.tabs.conv3d import build_conv3d_tab
from visualiser.ui.tabs.flow import PENDING_CSS
from visualiser.ui.tabs.image import layout_image_tab
from visualiser.ui.tabs.image_events import wire_image_tab
from visualiser.ui.tabs.learn import build_learn_tab
from visualiser.ui.views.heavy import pipeline

QUEUE_SIZE = 16
CONCURRENCY = 2  # a CPU Space has 2 cores: two analyses at a time, the rest wait in the queue
CACHE_SWEEP = (3600, 3600)  # every hour, delete cached files older than an hour

CSS = """
.mono textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.timings { color: var(--body-text-color-subdued); font-size: var(--text-sm); }
.learn { max-width: 60rem; }
.domain p { color: var(--body-text-color-subdued); font-size: var(--text-sm); }
.notice { border-left: 4px solid var(--color-accent); padding: 0.25rem 0.75rem; }
.showing { border-bottom: 1px solid var(--border-color-primary); padding-bottom: 0.25rem; }
.panel-note { border-left: 4px solid var(--border-color-primary); padding: 0.25rem 0.75rem; }
.showing details, .panel-note details { font-size: var(--text-sm); }
#language { max-width: 16rem; margin-left: auto; }
/* A figure's label sits on its own line above the figure (Gradio floats it over the top of the picture, where
   a long or wrapped label hid the first rows of every heatmap), and the figure keeps its own aspect ratio. */
.figure-out label[data-testid="block-label"] { position: static; display: inline-flex; margin-bottom: 0.25rem;
  white-space: normal; max-width: 100%; }
.figure-out .image-container, .figure-out .image-frame { height: auto; }
/* the download / full-screen buttons get their own strip above the picture instead of covering its corner */
.figure-out .icon-button-wrapper.top-panel { position: static; display: flex; justify-content: flex-end;
  margin: 0 0 0.25rem auto; width: fit-content; }
.figure-out img { object-fit: contain; max-width: 100%; height: auto; }
.figure-out video { max-width: 100%; max-height: 28rem; width: auto; height: auto; margin: 0 auto; }
""" + PENDING_CSS


def theme() -> gr.themes.Base:
    """A calm theme; heatmap colours carry the meaning, so the chrome stays neutral."""
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate")


def build_demo(image_model: str | None = None) -> gr.Blocks:
    """The whole app as a ``gr.Blocks`` (not launched); ``image_model`` is the Image tab's model (a registry name)."""
    i18n = build_i18n()
    banners = Banners()
    with gr.Blocks(title="Attention visualiser", delete_cache=CACHE_SWEEP, analytics_enabled=False) as demo:
        with gr.Row(equal_height=False):
            with gr.Column(scale=4):
                gr.Markdown(i18n("app_heading"), elem_id="app-heading")
                gr.Markdown(i18n("app_intro"))
            language = gr.Radio(
                choices=LANGUAGE_CHOICES, value="en", label=i18n("language"), elem_id="language", scale=1,
                min_width=220,
            )  # fmt: skip
        with gr.Tabs(selected="image") as tabs:
            with gr.Tab(i18n("tab_image"), id="image", elem_id="tab-image"):
                image_tab = layout_image_tab(i18n, banners, image_model)
                image_hooks = wire_image_tab(image_tab, i18n, banners, demo, language)
            with gr.Tab(i18n("tab_clip"), id="clip", elem_id="tab-clip"):
                clip_tab = layout_clip_tab(i18n, banners)
                clip_hooks = wire_clip_tab(clip_tab, i18n, banners, demo, language)
            with gr.Tab(i18n("tab_conv3d"), id="conv3d", elem_id="tab-conv3d"):
                conv3d_tab = build_conv3d_tab(i18n, banners, demo, language)
            with gr.Tab(i18n("tab_compare"), id="compare", elem_id="tab-compare"):
                compare_tab = build_compare_tab(i18n, banners, demo, language)
            with gr.Tab(i18n("tab_learn"), id="learn", elem_id="tab-learn"):
                learn_hooks = build_learn_tab(language)

        def send_clip(video: str | None, lang: str) -> dict[Any, Any]:
            if not video:
                raise gr.Error(views.say(lang, "upload_first"))
            return {conv3d_tab.video: video, tabs: gr.Tabs(selected="conv3d")}

        sent = clip_tab.to_conv3d.click(
            guarded(send_clip),
            inputs=[clip_tab.video, language],
            outputs=[conv3d_tab.video, tabs],
            api_visibility="private",
            queue=False,
        )
        conv3d_tab.flow.on(sent.success)  # the sent clip is animated at once

        # Labels already drawn keep the text of the locale they were drawn in: a switch sends every one again.
        translated = translated_blocks(demo.blocks.values())

        def labels(lang: str) -> dict[Any, Any]:
            return relabel(translated, views.language(lang))

        # The page's events, in order: the labels first (the browser runs one trigger's events one by one), then
        # every tab's redraw; on load, the language first, then every tab's arrival example.
        switched = language.input(
            guarded(labels), inputs=[language], outputs=[b for b, _, _ in translated], js=SWITCH_LOCALE_JS,
            queue=False, show_progress="hidden", api_visibility="private",
        )  # fmt: skip
        detected = demo.load(None, js=DETECT_LANGUAGE_JS, outputs=[language], api_visibility="private")
        for hooks in (image_hooks, clip_hooks, conv3d_tab.hooks, compare_tab.hooks, learn_hooks):
            hooks.on_language(switched.then)
            hooks.arrival(detected.then)
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    _document_api_in_english(demo)
    return demo


def _english(text: Any) -> Any:
    key = getattr(text, "key", None)
    return EN.get(key.removeprefix(KEY_PREFIX), key) if key is not None else text


def _document_api_in_english(demo: gr.Blocks) -> None:
    """Give the API docs ("Use via API") English labels.

    Component labels are translation keys resolved in the browser; the API page prints the raw key
    object instead. Wrapping this instance's ``get_api_info`` swaps in the English text.
    """
    original = demo.get_api_info

    def get_api_info(*args: Any, **kwargs: Any) -> Any:
        info = original(*args, **kwargs)
        for endpoint in (info or {}).get("named_endpoints", {}).values():
            for item in (*endpoint.get("parameters", ()), *endpoint.get("returns", ())):
                item["label"] = _english(item.get("label"))
        return info

    demo.get_api_info = get_api_info  # type: ignore[method-assign]


def max_upload_bytes() -> int:
    """The largest upload the server accepts: a checkpoint's limit (``VISUALISER_MAX_CHECKPOINT_MB``).

    Images and clips are checked by size again, against their own smaller limit (``VISUALISER_MAX_FILE_MB``),
    before anything is decoded.
    """
    return max_checkpoint_bytes()


def launch_kwargs() -> dict[str, Any]:
    """Arguments for ``demo.launch``: safe defaults for a public CPU Space, overridable by environment."""
    allowed = [str(EXAMPLES_DIR)] if EXAMPLES_DIR.is_dir() else []
    return {
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "server_port": int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "share": False,
        "show_error": False,
        "max_file_size": max_upload_bytes(),
        "footer_links": ["api", "gradio"],  # no Settings: its 33 languages; the page has its own switch
        "theme": theme(),
        "css": CSS,
        "i18n": build_i18n(),
        "head": HEAD_JS,
        "allowed_paths": allowed,
        "enable_monitoring": False,
        "run_history": False,
        "ssr_mode": False,
    }


def launch(
    model: nn.Module | str | None = None,
    *,
    preprocess: Preprocessing | None = None,
    labels: Sequence[str] | None = None,
    scores: ScoresFn | None = None,
    title: str | None = None,
    block: bool = True,
    **kwargs: Any,
) -> gr.Blocks:
    """Serve the app with ``model`` on the Image tab: your own ``torch.nn.Module``, or a registry name.

    ``preprocess``, ``labels`` and ``scores`` describe your network as for ``pipeline.analyse_image``; any
    other keyword goes to ``gr.Blocks.launch`` (e.g. ``server_port=7861``). ``block=False`` returns at once
    (for notebooks and tests); the app is served until ``demo.close()``.
    """
    name = model if model is None or isinstance(model, str) else _registered(model, preprocess, labels, scores, title)
    demo = build_demo(image_model=name)
    demo.launch(prevent_thread_lock=True, **(launch_kwargs() | kwargs))
    threading.Thread(target=views.warm_up, name="warm-up", daemon=True).start()
    if block:
        demo.block_thread()
    return demo


def _registered(
    model: nn.Module,
    preprocess: Preprocessing | None,
    labels: Sequence[str] | None,
    scores: ScoresFn | None,
    title: str | None,
) -> str:
    """Your network, listed under a name the whole app can use (its gates are found once, here)."""
    return pipeline.register_module(model, preprocess=preprocess, labels=labels, title=title, scores=scores)
