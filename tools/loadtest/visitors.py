"""The two kinds of load-test visitor: an API user (gradio_client) and a page in a browser (``page.PageVisitor``).

Both answer ``analyse(png, model, timeout_s)`` with ``/analyse_image``'s outputs ``(label, overlay, summary)``
and raise ``Busy`` for a full queue and ``ErrorAnswer`` for an error message, so the run counts them alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from tools.loadtest.page import Busy, ErrorAnswer, PageVisitor
from tools.loadtest.report import Flow
from visualiser.errors import VisualiserError

ENDPOINT = "/analyse_image"
ANALYSE_BUTTON = "image-run"  # the page's Analyse button (its event answers with every view)


def _value(output: Any) -> Any:
    """An output as the page holds it: an update's value (``None`` when it changes only visibility)."""
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output

__all__ = ["ENDPOINT", "ApiVisitor", "Busy", "ErrorAnswer", "PageFlowVisitor", "Visitor", "server_default_model"]


class Visitor(Protocol):
    follow_ups: int  # events run after the public one (the page's views); 0 for an API user

    def analyse(self, png: Path, model: str, timeout_s: float) -> Sequence[Any]: ...

    def close(self) -> None: ...


def _client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


class ApiVisitor:
    """A gradio_client user of ``/analyse_image``: one call per request, nothing after it."""

    follow_ups = 0

    def __init__(self, url: str) -> None:
        self.client = _client(url)

    def analyse(self, png: Path, model: str, timeout_s: float) -> Sequence[Any]:
        from gradio_client import handle_file
        from gradio_client.exceptions import AppError
        from gradio_client.utils import QueueError

        job = self.client.submit(handle_file(str(png)), model, api_name=ENDPOINT)
        try:
            return job.result(timeout=timeout_s)
        except QueueError as err:
            raise Busy(str(err)) from err
        except AppError as err:
            raise ErrorAnswer(str(err)) from err

    def close(self) -> None:
        self.client.close()


class PageFlowVisitor:
    """A page in a browser: upload, the Analyse button's event, then the views the page chains after it."""

    def __init__(self, url: str, timeout_s: float = 120.0) -> None:
        self.page = PageVisitor.open(url, timeout_s)
        self.analysed = 0

    @property
    def follow_ups(self) -> int:
        return len(self.page.events_run) - self.analysed

    def analyse(self, png: Path, model: str, timeout_s: float) -> Sequence[Any]:
        """The image and the model set, then the Analyse button's event (it answers with every view): the first
        three outputs are the predictions, the overlay and the summary, as ``/analyse_image`` returns them."""
        self.page.http.timeout = timeout_s
        upload = self.page.upload(png)
        self.analysed += 1
        api = self.page.config.named(ENDPOINT)  # its inputs are the page's image and model components
        self.page.values.update({api.inputs[0]: upload, api.inputs[1]: model})
        click = self.page.config.clicked(ANALYSE_BUTTON)
        shown = self.page.act(click.api_name or str(click.id), [self.page.values.get(i) for i in click.inputs])
        return [_value(v) for v in shown[:3]]

    def close(self) -> None:
        self.page.close()


def visitor(flow: Flow, url: str) -> Visitor:
    """A new visitor of the given kind (each has its own session)."""
    return PageFlowVisitor(url) if flow == "page" else ApiVisitor(url)


def server_default_model(url: str) -> str:
    """The default value of ``/analyse_image``'s ``model`` parameter, as the server documents it."""
    client = _client(url)
    try:
        info = client.view_api(print_info=False, return_format="dict")
    finally:
        client.close()
    for parameter in info["named_endpoints"][ENDPOINT]["parameters"]:
        if parameter["parameter_name"] == "model" and parameter.get("parameter_default"):
            return str(parameter["parameter_default"])
    raise VisualiserError(f"the server's {ENDPOINT} has no default model; pass --model")
