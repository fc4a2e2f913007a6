"""Shared test setup: headless matplotlib, a bounded thread count, and seeded tiny models."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(2)


@pytest.fixture()
def tiny():
    from tests.support.tiny import tiny_net

    return tiny_net()


# Small randomly initialised networks registered under fake names, and example files (tests/support/fakes.py).
pytest_plugins = ["tests.support.fakes"]
