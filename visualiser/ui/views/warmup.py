"""Load what the first visitor would otherwise wait for, in a thread, once the server is up."""

from __future__ import annotations

import logging

from visualiser import catalogue
from visualiser.errors import VisualiserError
from visualiser.types import TASKS
from visualiser.ui.views import heavy
from visualiser.ui.views.clip import clip_arrival
from visualiser.ui.views.compare import compare_arrival
from visualiser.ui.views.conv3d import conv3d_arrival
from visualiser.ui.views.heavy import pipeline
from visualiser.ui.views.image import image_arrival

logger = logging.getLogger("visualiser.ui")


def warm_up() -> None:
    """Import torch, matplotlib and the pipeline and load the default models, for a server that is already up.

    The page is served before any of this is imported (cold start); running it in a background thread right
    after launch means the first visitor's analysis does not pay for it either. Then every tab's arrival
    example is computed, so a page opens with finished results.
    """
    heavy.import_all()
    for task in TASKS:
        name = catalogue.default_model(task)
        if name is None:
            continue
        try:
            pipeline.get_model(name)
        except VisualiserError as err:  # the first request will say so to its user; the log says it now
            logger.warning("warm-up could not load %s: %s", name, err)
    image_arrival()
    clip_arrival()
    conv3d_arrival()
    sets = catalogue.compare_sets()
    if sets:
        compare_arrival(next(iter(sets)))
