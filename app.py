"""Entry point for ``python app.py`` and for the Hugging Face Space: build the app, serve it under ``__main__``.

The C allocator is tuned first (``visualiser.allocator``: fixed mmap / trim thresholds, two arenas), before any
thread exists, so a long-running server hands freed memory back without a variable the deployer must set.
The page is served before torch is imported (cold start); torch, the renderers and the default models then
load in a background thread, so the first analysis does not wait for them either.
"""

from visualiser.allocator import tune_allocator

tune_allocator()

import logging  # noqa: E402 - after the allocator settings, which apply to what is allocated from here on
import threading  # noqa: E402

from visualiser.ui.shell import build_demo, launch_kwargs  # noqa: E402
from visualiser.ui.views import warm_up  # noqa: E402

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo.launch(prevent_thread_lock=True, **launch_kwargs())
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.block_thread()
