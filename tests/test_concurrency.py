"""Concurrent requests on one shared, cached model: every answer equals the answer of the same input run alone.

The app keeps one instance of each model and serves several requests at once from Gradio's worker threads.
Recording (forward hooks filtered by a context variable), Grad-CAM (a backward pass through shared parameters)
and interventions (gate-overriding hooks) all touch that shared model, so these tests run them from many threads
at once, started together by a barrier, and require bit-for-bit the solo results: probabilities, every block's
gates and intermediate maps, Grad-CAM maps, and intervention outcomes. A plain analysis running beside an
intervention must never see the overridden gates.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields

import numpy as np
import pytest

from tests.support.fakes import fake_models_fixture  # noqa: F401 - pytest fixture
from tools.data.shapes import make_sample, sample_rng
from visualiser import pipeline
from visualiser.capture import hook_count
from visualiser.result import ImageResult

THREADS = 8
INPUTS = 6
REPEATS = 4  # concurrent runs of each input


def _images() -> list[np.ndarray]:
    """Distinct generated pictures, each a different size (so even the crop geometry differs)."""
    return [make_sample(sample_rng(99, i), size=80 + 12 * i).image for i in range(INPUTS)]


def _assert_same_result(got: ImageResult, want: ImageResult) -> None:
    np.testing.assert_array_equal(got.probabilities, want.probabilities)
    assert [p.index for p in got.predictions] == [p.index for p in want.predictions]
    assert got.geometry == want.geometry
    np.testing.assert_array_equal(got.input_image, want.input_image)
    assert [b.name for b in got.blocks] == [b.name for b in want.blocks]
    for mine, theirs in zip(got.blocks, want.blocks, strict=True):
        for f in fields(mine):
            a, b = getattr(mine, f.name), getattr(theirs, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                assert a is not None and b is not None, f"{mine.name}.{f.name}"
                np.testing.assert_array_equal(a, b, err_msg=f"{mine.name}.{f.name}")
            else:
                assert a == b, f"{mine.name}.{f.name}"
    if want.gradcam is None:
        assert got.gradcam is None
    else:
        np.testing.assert_array_equal(got.gradcam, want.gradcam)
        assert got.gradcam_class == want.gradcam_class


def _run_together(jobs: list, worker) -> list:
    """Run ``worker(job)`` for every job on THREADS threads that start at the same moment; results in job order."""
    barrier = threading.Barrier(min(THREADS, len(jobs)))

    def start(job: object) -> object:
        with contextlib.suppress(threading.BrokenBarrierError):  # the last few jobs need not start together
            barrier.wait(timeout=5)
        return worker(job)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(start, jobs))


@pytest.mark.parametrize("model", ["fake_cbam", "fake_eca"])
def test_concurrent_analyses_equal_their_solo_runs(fake_models, model):
    images = _images()
    solo = [pipeline.analyse_image(img, model=model) for img in images]
    solo_cam = [pipeline.analyse_image(img, model=model, gradcam=True) for img in images]
    # the inputs really are told apart: no two solo answers are the same
    for i in range(INPUTS):
        for j in range(i + 1, INPUTS):
            assert not np.array_equal(solo[i].probabilities, solo[j].probabilities)

    rng = np.random.default_rng(5)
    jobs = [
        (int(i), bool(cam))
        for i, cam in zip(
            rng.permutation(np.repeat(np.arange(INPUTS), REPEATS)), rng.integers(0, 2, REPEATS * INPUTS), strict=True
        )
    ]
    results = _run_together(jobs, lambda job: pipeline.analyse_image(images[job[0]], model=model, gradcam=job[1]))

    for (index, cam), result in zip(jobs, results, strict=True):
        _assert_same_result(result, (solo_cam if cam else solo)[index])
    assert hook_count(pipeline.get_model(model).model) == 0  # every recorder and Grad-CAM hook was removed


@pytest.mark.parametrize("mode", ["identity", "mute"])
def test_an_intervention_never_leaks_into_a_concurrent_analysis(fake_models, mode):
    model, block = "fake_cbam", "layer4.0.se"
    images = _images()
    options = {"mute_top": 8} if mode == "mute" else {}
    solo = [pipeline.analyse_image(img, model=model) for img in images]
    solo_interventions = [pipeline.intervene(img, block, mode=mode, model=model, **options) for img in images]
    for plain, forced in zip(solo, solo_interventions, strict=True):
        np.testing.assert_array_equal(forced.probabilities_before, plain.probabilities)
        # the override really changes the output, so a leak would show
        assert np.abs(forced.probabilities_after - forced.probabilities_before).max() > 1e-8

    jobs = [("intervene" if k % 2 else "analyse", k % INPUTS) for k in range(2 * REPEATS * INPUTS)]

    def work(job: tuple[str, int]) -> object:
        kind, index = job
        if kind == "intervene":
            return pipeline.intervene(images[index], block, mode=mode, model=model, **options)
        return pipeline.analyse_image(images[index], model=model)

    results = _run_together(jobs, work)
    for (kind, index), result in zip(jobs, results, strict=True):
        if kind == "analyse":
            _assert_same_result(result, solo[index])
        else:
            want = solo_interventions[index]
            np.testing.assert_array_equal(result.probabilities_before, want.probabilities_before)
            np.testing.assert_array_equal(result.probabilities_after, want.probabilities_after)
            assert result.description == want.description
    assert hook_count(pipeline.get_model(model).model) == 0
