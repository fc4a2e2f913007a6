"""Shared test setup: headless matplotlib, a bounded thread count, and seeded tiny models."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
torch.set_num_threads(2)


@pytest.fixture()
def two_threads() -> Iterator[None]:
    """Pin the thread count the fixtures were matched at, whatever the caller set."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture()
def tiny():
    from tests.support.tiny import tiny_net

    return tiny_net()


# Small randomly initialised networks registered under fake names, and example files (tests/support/fakes.py).
pytest_plugins = ["tests.support.fakes", "tests.support.demo"]
