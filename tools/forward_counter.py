"""Count the forward passes a running app makes, without changing the app: ``python -m tools.forward_counter``.

``python -m tools.forward_counter COUNT_FILE APP [ARGS...]`` runs ``APP`` (``app.py`` or a launcher that
registers test models first) exactly as ``python APP`` would, inside ``counting_forwards(COUNT_FILE)``. That
wraps ``visualiser.pipeline.models.create_model``, which ``get_model`` looks up when it loads a model, so
every model the app loads gets one forward hook on its root module; each completed forward pass of the
whole network appends the model's name as one line to ``COUNT_FILE``. A line is written and the file closed
before the request's answer is sent, so a reader sees every pass of the requests that have been answered,
also after the server was killed. The load test reads it with ``read_forward_counts``.

Passes made by the app's own warm-up thread (it prepares every tab's example once, right after launch) are
written as ``warm-up:<model>`` and left out of the counts: they answer no request.
"""

from __future__ import annotations

import collections
import contextlib
import runpy
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle

COUNT_FILE_HEADER = "# forward passes, one line per pass: the model's name\n"
WARM_UP_THREAD = "warm-up"  # app.py's name for the thread that prepares the tabs' arrival examples
WARM_UP_PREFIX = "warm-up:"


@contextlib.contextmanager
def counting_forwards(count_file: Path) -> Iterator[Path]:
    """While active, every model ``get_model`` loads appends its name to ``count_file`` after each forward pass.

    The hooks and the wrapper are removed when the block ends, also after an exception. The file is
    created (with a comment line) on entry, so a reader can tell "no pass yet" from "not counting".
    """
    from visualiser.pipeline import models as pipeline_models

    count_file = Path(count_file)
    count_file.write_text(COUNT_FILE_HEADER)
    lock = threading.Lock()
    handles: list[RemovableHandle] = []
    original: Callable[..., nn.Module] = pipeline_models.create_model

    def record(name: str) -> Callable[[nn.Module, tuple[Any, ...], Any], None]:
        line = f"{name}\n"

        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
            warm_up = threading.current_thread().name == WARM_UP_THREAD
            with lock, count_file.open("a") as fh:
                fh.write(WARM_UP_PREFIX + line if warm_up else line)

        return hook

    def create_counted(name: str, *args: Any, **kwargs: Any) -> nn.Module:
        model = original(name, *args, **kwargs)
        handles.append(model.register_forward_hook(record(name)))
        return model

    pipeline_models.create_model = create_counted  # type: ignore[assignment]
    try:
        yield count_file
    finally:
        pipeline_models.create_model = original
        for handle in handles:
            handle.remove()


def read_forward_counts(count_file: Path) -> collections.Counter[str] | None:
    """Forward passes per model name so far; None when the file does not exist (nothing is counting)."""
    try:
        text = Path(count_file).read_text()
    except FileNotFoundError:
        return None
    lines = text.splitlines()
    return collections.Counter(x for x in lines if x and not x.startswith(("#", WARM_UP_PREFIX)))


def main(argv: Sequence[str] | None = None) -> None:
    """Run an app script as ``__main__`` with its forward passes counted into a file."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        raise SystemExit("usage: python -m tools.forward_counter COUNT_FILE APP [ARGS...]")
    count_file, app, *rest = args
    sys.argv = [app, *rest]
    with counting_forwards(Path(count_file)):
        runpy.run_path(app, run_name="__main__")


if __name__ == "__main__":
    main()
