"""Entry point for ``python app.py`` and for the Hugging Face Space: build the app, serve it under ``__main__``."""

import logging

from visualiser.ui import build_demo, launch_kwargs

demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo.launch(**launch_kwargs())
