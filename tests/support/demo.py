"""The built app (not launched), once per test session: its events and components are inspected, not served."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", name="built_demo")
def built_demo_fixture(fake_models):
    """``build_demo`` with the small fake CBAM network on the Image tab (building costs seconds: share it)."""
    from visualiser.ui.shell import build_demo

    return build_demo(image_model="fake_cbam")
