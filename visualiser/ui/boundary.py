"""The error boundary: the one place where exceptions meet the browser.

A ``VisualiserError`` carries a sentence meant for the user and is shown as it is; anything else is a bug,
so it is logged with its traceback and the user sees a fixed sentence that leaks nothing about the server.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from visualiser.errors import VisualiserError

logger = logging.getLogger("visualiser.ui")

INTERNAL_ERROR = "internal error; the server log has details"
ERROR_DURATION_S = 12

F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Wrap a handler so that every failure reaches the user as ``gr.Error`` with a safe message.

    ``functools.wraps`` keeps the signature visible to Gradio (it looks for ``gr.Progress`` defaults).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except VisualiserError as err:
            raise gr.Error(err.message, duration=ERROR_DURATION_S) from None
        except Exception:  # the boundary: log the bug, show a fixed sentence
            logger.exception("handler %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(INTERNAL_ERROR, duration=ERROR_DURATION_S) from None

    return wrapper  # type: ignore[return-value]
