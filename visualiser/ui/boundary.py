"""The error boundary: the one place where exceptions meet the browser.

A ``VisualiserError`` carries a sentence meant for the user; anything else is a bug. Both reach the caller as
``gr.Error`` (an API caller reads its message), but the page does not rely on a toast that closes after a few
seconds: a handler guarded with a ``scope`` (a tab's analysis) remembers the failure for the caller's session,
and the tab's failure step (``failure_message``) puts it in the tab's banner, where it stays until the next
action: one short sentence in the reader's language, the long detail behind a fold. A user error writes one
line to the server log; a bug writes its traceback, and the user sees a fixed sentence that leaks nothing.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Optional, TypeVar

import gradio as gr

from visualiser.errors import VisualiserError
from visualiser.ui.views.errors import UserMessage, user_message
from visualiser.ui.views.phrases import say

logger = logging.getLogger("visualiser.ui")

INTERNAL_ERROR = "internal error; the server log has details"
ERROR_DURATION_S = 12
REMEMBERED_FAILURES = 512  # sessions whose last failure is kept (a failure is read right after it happens)

F = TypeVar("F", bound=Callable[..., Any])

_FAILURES: OrderedDict[tuple[str, str], BaseException] = OrderedDict()
_LOCK = threading.Lock()


def remember_failure(session: str | None, scope: str, error: BaseException) -> None:
    """Keep ``error`` as the last failure of ``scope`` (a tab) in ``session``, for its banner."""
    if not session:
        return
    with _LOCK:
        _FAILURES[(session, scope)] = error
        _FAILURES.move_to_end((session, scope))
        while len(_FAILURES) > REMEMBERED_FAILURES:
            _FAILURES.popitem(last=False)


def last_failure(session: str | None, scope: str) -> BaseException | None:
    """The last failure remembered for ``scope`` in ``session`` (taken: a second read gets None)."""
    if not session:
        return None
    with _LOCK:
        return _FAILURES.pop((session, scope), None)


def log_failure(where: str, error: BaseException) -> None:
    """A user error in one line; a bug with its traceback (call inside the ``except`` that caught it)."""
    if isinstance(error, VisualiserError):
        logger.info("%s refused: %s", where, error.message)
    else:
        logger.exception("handler %s failed", where)


def as_gradio_error(error: BaseException, toast: bool = True) -> gr.Error:
    """``error`` as the ``gr.Error`` an API caller reads (English); Gradio prints no traceback of its own."""
    message = error.message if isinstance(error, VisualiserError) else INTERNAL_ERROR
    return gr.Error(message, duration=ERROR_DURATION_S, visible=toast, print_exception=False)


def guarded(fn: F, scope: str | None = None) -> F:
    """Wrap a handler so that every failure reaches the user with a safe message, logged as it deserves.

    With a ``scope`` the wrapper also receives the caller's ``gr.Request`` (the handler's own ``request``
    parameter, or an extra last one, which Gradio fills and the API does not show), remembers the failure for
    that session and shows no toast: the scope's failure step puts it in the banner. ``functools.wraps`` keeps
    the signature visible to Gradio (it looks for ``gr.Progress`` defaults); the request parameter is added.
    """
    name = getattr(fn, "__name__", repr(fn))
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    names = [p.name for p in params]
    own_request = "request" in names  # the handler wants the request itself (e.g. the session owns uploads)
    if scope is not None and not own_request:
        params.append(
            inspect.Parameter(
                "request",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None,
                annotation=Optional[gr.Request],  # noqa: UP045
            )
        )

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request = None
        if own_request:
            at = names.index("request")
            request = kwargs.get("request", args[at] if len(args) > at else None)
        elif scope is not None:
            request = kwargs.pop("request", None)
            if len(args) == len(params):
                *rest, request = args
                args = tuple(rest)
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:  # noqa: BLE001  (the boundary: said safely, logged as it deserves)
            log_failure(name, error)
            if scope is not None:
                remember_failure(getattr(request, "session_hash", None), scope, error)
            raise as_gradio_error(error, toast=scope is None) from None

    if scope is not None and not own_request:
        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), "request": Optional[gr.Request]}  # noqa: UP045
    return wrapper  # type: ignore[return-value]


def failure_message(request: gr.Request | None, scope: str, lang: str | None) -> UserMessage:
    """The failure the scope's last step remembered for this session, as the banner says it."""
    error = last_failure(getattr(request, "session_hash", None), scope)
    if error is None:  # nothing remembered (e.g. the request was refused before the handler ran)
        return UserMessage(say(lang, "error_internal"))
    return user_message(error, lang)


def safely(fn: Callable[..., dict], fallback: Callable[[UserMessage], dict]) -> Callable[..., dict]:
    """A private event that shows its own failure in its own area instead of failing (no toast, no red pill).

    ``fn`` takes the reader's language as its last input; ``fallback`` gets the failure as that reader's
    ``UserMessage`` and returns the updates that show it.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> dict:
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001  (shown where the user looks, logged as it deserves)
            log_failure(getattr(fn, "__name__", repr(fn)), error)
            return fallback(user_message(error, args[-1] if args else "en"))

    return wrapper
