"""A do-nothing Gradio app with ``/analyse_image``'s signature: the benchmark's floor for a gradio_client call.

``python -m tools.echo_app`` serves it on ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``. The endpoint returns
a fixed label, the uploaded file as the "overlay" and a small JSON, so a round trip through it costs what
Gradio and gradio_client cost on this machine (upload, queue, server-sent events, download) and nothing else.
The browser bench clicks ``#echo-run`` after uploading to ``#echo-input``: Gradio's floor for a click that
shows a picture (``#echo-output``) and a label.
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
        image = gr.Image(type="filepath", elem_id="echo-input")
        model = gr.Textbox(elem_id="echo-model")
        outputs = [
            gr.Label(elem_id="echo-label"),
            gr.Image(type="filepath", format="png", elem_id="echo-output"),
            gr.JSON(elem_id="echo-json"),
        ]
        run = gr.Button("Run", elem_id="echo-run")  # the browser bench clicks it: the floor of a click
        run.click(echo, [image, model], outputs, api_name="analyse_image", api_visibility="public")
    demo.queue()
    return demo


if __name__ == "__main__":
    build_echo_demo().launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7861")),
        quiet=True,
        show_error=False,
    )
