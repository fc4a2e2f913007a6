"""The benchmark's in-process image rows time the Image tab's own click, and say so: tied to the built app.

``tools.bench.image`` replays a click on ``#image-run`` through the built demo (``TabReplay``) and lists the
``visualiser.ui.views`` functions that click calls (``IMAGE_TAB_VIEWS``). These tests build the app, replay
the click on the embedded default model, and check that the replay runs every event the tab wires for the
click (one: the analysis and its views in one answer; a new event, or a changed chain, is timed too) and that
the list is exactly what the tab's events called: when the UI is rewritten, this fails until the bench is
looked at again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.bench.image import CLICK_EVENT, IMAGE_TAB_VIEWS
from tools.bench.subjects import photo_bytes
from tools.bench.tab_replay import ReplayError, TabReplay, views_called


@pytest.fixture(scope="module")
def replay() -> Iterator[TabReplay]:
    from visualiser.ui.views import clear_caches

    clear_caches()
    yield TabReplay()
    clear_caches()


def _click(replay: TabReplay, tmp_path, variant: int) -> list:
    photo = tmp_path / f"photo-{variant}.jpg"
    photo.write_bytes(photo_bytes(variant=variant))
    replay.upload("image-input", photo)
    return replay.click("image-run")


def test_the_replayed_click_is_the_tabs_click_and_calls_what_the_bench_lists(replay, tmp_path):
    """One click (each costs a forward pass and every figure): the events it runs and the views they call."""
    wired = [dep for dep in replay.chain("image-run") if dep.backend]
    assert len(wired) == 1  # one server round trip: the analysis and every view in one answer
    with views_called() as called:
        runs = _click(replay, tmp_path, 1)
    assert [run.fn_index for run in runs] == [dep.id for dep in wired]  # every wired event, in the page's order
    assert [run.name for run in runs] == [CLICK_EVENT]
    assert all(run.seconds > 0 for run in runs)
    assert replay.values[replay.component("image-predictions")], "the click left the predictions empty"
    assert called == IMAGE_TAB_VIEWS, (
        "the Image tab's click now calls other view functions: check tools/bench/image.py's rows and update "
        f"IMAGE_TAB_VIEWS (called: {sorted(called)})"
    )


def test_views_called_sees_only_the_outermost_call_and_puts_everything_back():
    from visualiser.ui import views
    from visualiser.ui.views import image as image_views

    before = (views.image_views, image_views.block_views)
    with views_called() as called:
        assert views.image_views is not before[0]
    assert (views.image_views, image_views.block_views) == before
    assert called == set()


def test_a_click_on_something_that_starts_nothing_or_does_not_exist_says_so(replay):
    with pytest.raises(ReplayError, match="no component with elem_id 'no-such-button'"):
        replay.click("no-such-button")
    with pytest.raises(ReplayError, match="starts no event"):
        replay.click("image-showing")
