"""A do-nothing Gradio app with ``/analyse_image``'s signature: the benchmark's floor for a gradio_client call.

``python -m tools.echo_app`` serves it on ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``. The endpoint returns
a fixed label, the uploaded file as the "overlay" and a small JSON, so a round trip through it costs what
Gradio and gradio_client cost on this machine (upload, queue, server-sent events, download) and nothing else.
"""

from __future__ import annotations

import os
from typing import Any

import gradio as gr


def echo(image: str | None, model: str) -> tuple[dict[str, float], str | None, dict[str, Any]]:
    """Answer at once, in the shapes ``/analyse_image`` answers in."""
    return {"echo": 1.0}, image, {"model": model}


def build_echo_demo() -> gr.Blocks:
    """The echo endpoint in a Blocks with a queue, like the real app."""
    with gr.Blocks(analytics_enabled=False) as demo:
        image = gr.Image(type="filepath")
        model = gr.Textbox()
        outputs = [gr.Label(), gr.Image(type="filepath", format="png"), gr.JSON()]
        gr.Button().click(echo, [image, model], outputs, api_name="analyse_image", api_visibility="public")
    demo.queue()
    return demo


if __name__ == "__main__":
    build_echo_demo().launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7861")),
        quiet=True,
        show_error=False,
    )
