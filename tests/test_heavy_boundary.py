"""The lazy boundary to the heavy modules (``ui/views/heavy.py``) under threads."""

from __future__ import annotations

import sys


def test_a_module_used_first_by_two_threads_at_once_is_whole_for_both(tmp_path, monkeypatch):
    """``OnFirstUse`` waits for an import another thread has begun (the attention video is encoded on a thread
    of its own while the figures are drawn: both may be the first to use a renderer)."""
    import importlib
    import threading
    import time

    from visualiser.ui.views.heavy import OnFirstUse

    name = f"slow_first_use_{time.time_ns()}"
    (tmp_path / f"{name}.py").write_text("import time\ntime.sleep(0.5)\nVALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = threading.Thread(target=importlib.import_module, args=(name,))
    first.start()
    try:
        deadline = time.monotonic() + 5
        while name not in sys.modules and time.monotonic() < deadline:  # the other thread is inside the import
            time.sleep(0.005)
        assert name in sys.modules
        assert OnFirstUse(name).VALUE == 42  # not a partly run module without VALUE
    finally:
        first.join()
        sys.modules.pop(name, None)
