"""The launched app through gradio_client: the three public endpoints with real files in and out.

The app runs on 127.0.0.1 on a free port with the small random models of tests/fakes.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.fakes import CLIP_FRAMES, FAKE_CLIP_MODEL
from tools.server import free_port

pytestmark = pytest.mark.server

PUBLIC = {"/analyse_image", "/analyse_clip", "/conv3d_animation"}


@pytest.fixture(scope="module")
def client(fake_models) -> Iterator[object]:
    from gradio_client import Client

    from visualiser.ui.shell import build_demo, launch_kwargs

    demo = build_demo()
    kwargs = launch_kwargs() | {"server_port": free_port(), "server_name": "127.0.0.1", "quiet": True}
    _, url, _ = demo.launch(prevent_thread_lock=True, **kwargs)
    try:
        yield Client(url, verbose=False)
    finally:
        demo.close()


def _mp4_frames(path: str) -> int:
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


def _timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def test_only_the_three_documented_endpoints_are_public(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == PUBLIC
    assert info["unnamed_endpoints"] == {}
    params = {p["parameter_name"] for p in info["named_endpoints"]["/conv3d_animation"]["parameters"]}
    assert {"video", "kernel", "kernel_t", "stride_hw", "padding_t", "dilation_hw", "out_channel", "mode"} <= params


def test_analyse_image_endpoint(client, fake_inputs):
    from gradio_client import handle_file

    (label, overlay, summary), seconds = _timed(
        lambda: client.predict(handle_file(str(fake_inputs.image)), "fake_cbam", api_name="/analyse_image")
    )
    print(f"/analyse_image: {seconds * 1000:.0f} ms")
    confidences = [c["confidence"] for c in label["confidences"]]
    assert len(confidences) == 5 and confidences == sorted(confidences, reverse=True)
    summary = summary if isinstance(summary, dict) else json.loads(summary)
    assert abs(sum(summary["probabilities"]) - 1.0) < 1e-4
    assert summary["model"] == "fake_cbam" and len(summary["channel_gates"]) == 4
    with Image.open(overlay) as picture:
        assert picture.format == "PNG" and picture.mode == "RGB" and min(picture.size) > 16
        assert np.asarray(picture).std() > 0


def test_analyse_clip_endpoint(client, fake_inputs):
    from gradio_client import handle_file

    (label, video, summary), seconds = _timed(
        lambda: client.predict(handle_file(str(fake_inputs.clip)), FAKE_CLIP_MODEL, 8, api_name="/analyse_clip")
    )
    print(f"/analyse_clip: {seconds * 1000:.0f} ms")
    assert len(label["confidences"]) == 5
    path = video["video"] if isinstance(video, dict) else video
    assert _mp4_frames(path) == CLIP_FRAMES
    assert abs(sum(summary["probabilities"]) - 1.0) < 1e-4 and summary["is_3d"] is True


def test_conv3d_animation_endpoint(client, fake_inputs):
    from gradio_client import handle_file

    settings = ("teaching:temporal_difference", 3, 3, 1, 2, 0, 1, 1, 1, 0, "3d")
    (video, formula, params), seconds = _timed(
        lambda: client.predict(handle_file(str(fake_inputs.clip)), *settings, api_name="/conv3d_animation")
    )
    print(f"/conv3d_animation: {seconds * 1000:.0f} ms")
    path = video["video"] if isinstance(video, dict) else video
    lines = formula.splitlines()
    assert lines[1].endswith("= 6")  # T: (8 - 2 - 1) / 1 + 1
    assert lines[2].endswith("= 8")  # H: (16 + 2 - 2 - 1) // 2 + 1
    steps = 6 * 8 * 8
    assert _mp4_frames(path) == min(steps, 240)
    assert "82 params" in params


def test_a_bad_file_gets_the_projects_message(client, fake_inputs):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(fake_inputs.corrupt_image)), "fake_cbam", api_name="/analyse_image")
    message = str(info.value)
    assert "broken.png" in message and "internal error" not in message
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(fake_inputs.corrupt_clip)), FAKE_CLIP_MODEL, 8, api_name="/analyse_clip")
    assert "broken.mp4" in str(info.value)


def test_a_first_use_shows_the_weights_download_in_mb_and_the_second_is_instant(
    client, fake_inputs, tmp_path, monkeypatch
):
    """The shipped shapes network re-registered as a URL download: the job's progress says "x of y MB"."""
    from dataclasses import replace

    from gradio_client import handle_file

    from tests.support.weights import WeightsServer
    from visualiser.models import registry
    from visualiser.paths import ASSETS_DIR
    from visualiser.pipeline import forget_models

    shipped = registry.get_spec("shapes_cbam")
    served = tmp_path / "served"
    served.mkdir()
    (served / "shapes.safetensors").write_bytes((ASSETS_DIR / shipped.weights.location).read_bytes())
    monkeypatch.setenv("VISUALISER_CACHE", str(tmp_path / "cache"))
    with WeightsServer(served) as server:
        source = replace(shipped.weights, kind="url", location=server.url("slow/shapes.safetensors"))
        spec = replace(shipped, name="shapes_cbam_download", weights=source, embedded=False)
        monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
        try:
            descriptions = []
            job = client.submit(handle_file(str(fake_inputs.image)), spec.name, api_name="/analyse_image")
            while not job.done():
                descriptions += [p.desc for p in (job.status().progress_data or []) if p.desc]
                time.sleep(0.01)
            label, _, summary = job.result()
            descriptions += [p.desc for p in (job.status().progress_data or []) if p.desc]
            assert summary["model"] == spec.name and len(label["confidences"]) == 5
            assert any(" of " in d and d.endswith(" MB") and "downloading" in d for d in descriptions), descriptions
            again = client.predict(handle_file(str(fake_inputs.image)), spec.name, api_name="/analyse_image")
            assert again[2]["model"] == spec.name
            assert server.requests == ["/slow/shapes.safetensors"]  # the second use downloaded nothing
        finally:
            forget_models([spec.name])
