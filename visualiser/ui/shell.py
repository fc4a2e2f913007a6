"""The Gradio app: ``build_demo()`` lays out the five tabs, ``launch_kwargs()`` says how to serve them.

Each tab lives in its own ``ui_<tab>.py``; the handlers behind them are plain Python in
``visualiser/views.py``. Three events are public API endpoints (``/analyse_image``,
``/analyse_clip``, ``/conv3d_animation``); every other event is private. Nothing heavy is imported
or loaded here: models load on first use, so the server is ready in a few seconds.
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

from visualiser.paths import EXAMPLES_DIR
from visualiser.ui.banners import Banners
from visualiser.ui.boundary import guarded
from visualiser.ui.i18n import EN, build_i18n
from visualiser.ui.tabs.clip import layout_clip_tab
from visualiser.ui.tabs.clip_events import wire_clip_tab
from visualiser.ui.tabs.compare import build_compare_tab
from visualiser.ui.tabs.conv3d import build_conv3d_tab
from visualiser.ui.tabs.image import layout_image_tab
from visualiser.ui.tabs.image_events import wire_image_tab
from visualiser.ui.tabs.learn import BROWSER_LANGUAGE_JS, build_learn_tab

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
/* output labels float over the top of their figure: keep that strip free */
.figure-out .image-container, .figure-out .mirror-wrap, div.matplotlib { padding-top: 2.25rem; }
"""


def theme() -> gr.themes.Base:
    """A calm theme; heatmap colours carry the meaning, so the chrome stays neutral."""
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate")


def build_demo(image_model: str | None = None) -> gr.Blocks:
    """The whole app as a ``gr.Blocks`` (not launched); ``image_model`` is the Image tab's model (a registry name)."""
    i18n = build_i18n()
    banners = Banners(i18n)
    with gr.Blocks(title="Attention visualiser", delete_cache=CACHE_SWEEP, analytics_enabled=False) as demo:
        gr.Markdown(i18n("app_heading"), elem_id="app-heading")
        gr.Markdown(i18n("app_intro"))
        with gr.Tabs(selected="image") as tabs:
            with gr.Tab(i18n("tab_image"), id="image", elem_id="tab-image"):
                image_tab = layout_image_tab(i18n, banners, image_model)
                wire_image_tab(image_tab, i18n, banners, demo)
            with gr.Tab(i18n("tab_clip"), id="clip", elem_id="tab-clip"):
                clip_tab = layout_clip_tab(i18n, banners)
                wire_clip_tab(clip_tab, i18n, banners, demo)
            with gr.Tab(i18n("tab_conv3d"), id="conv3d", elem_id="tab-conv3d"):
                conv3d_tab = build_conv3d_tab(i18n, banners, demo)
            with gr.Tab(i18n("tab_compare"), id="compare", elem_id="tab-compare"):
                build_compare_tab(i18n, demo)
            with gr.Tab(i18n("tab_learn"), id="learn", elem_id="tab-learn"):
                learn_language, _ = build_learn_tab(i18n)

        def send_clip(video: str | None) -> tuple[Any, Any]:
            if not video:
                raise gr.Error("there is no clip to send yet: upload one or pick an example first")
            return video, gr.Tabs(selected="conv3d")

        sent = clip_tab.to_conv3d.click(
            guarded(send_clip),
            inputs=[clip_tab.video],
            outputs=[conv3d_tab.video, tabs],
            api_visibility="private",
            queue=False,
        )
        conv3d_tab.flow.chain(sent, public=False, only_after_success=True)  # the sent clip is animated at once
        demo.load(None, js=BROWSER_LANGUAGE_JS, outputs=[learn_language], api_visibility="private")
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=CONCURRENCY)
    _document_api_in_english(demo)
    return demo


def _english(label: Any) -> Any:
    key = getattr(label, "key", None)
    return EN.get(key, key) if key is not None else label


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
    from visualiser.models.checkpoints import max_checkpoint_bytes

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
        "footer_links": ["api", "settings", "gradio"],
        "theme": theme(),
        "css": CSS,
        "i18n": build_i18n(),
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
    from visualiser.ui.views.warmup import warm_up

    name = model if model is None or isinstance(model, str) else _registered(model, preprocess, labels, scores, title)
    demo = build_demo(image_model=name)
    demo.launch(prevent_thread_lock=True, **(launch_kwargs() | kwargs))
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
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
    from visualiser.pipeline import register_module

    return register_module(model, preprocess=preprocess, labels=labels, title=title, scores=scores)
