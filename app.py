"""Entry point for ``python app.py`` and for the Hugging Face Space: build the app, serve it under ``__main__``.

The page is served before torch is imported (cold start); torch, the renderers and the default models then
load in a background thread, so the first analysis does not wait for them either.
"""

import logging
import threading

from visualiser.ui.shell import build_demo, launch_kwargs
from visualiser.ui.views import warm_up

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo.launch(prevent_thread_lock=True, **launch_kwargs())
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    demo.block_thread()
