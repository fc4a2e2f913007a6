"""Results in a notebook: what Jupyter shows (HTML, PNG, text) and the figures ``result.figure(kind)`` returns."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from PIL import Image

from visualiser import pipeline
from visualiser.errors import InputError
from visualiser.render.channels import BARS_GID, channel_overview
from visualiser.render.spatial import spatial_grid


@pytest.fixture(scope="module")
def cbam_result(fake_models, fake_inputs):
    return pipeline.analyse_image(fake_inputs.image, model="fake_cbam")


def _pngs(html: str) -> list[np.ndarray]:
    return [
        np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
        for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    ]


def test_jupyter_shows_the_top5_the_channel_overview_and_the_spatial_grid(cbam_result):
    html = cbam_result._repr_html_()
    assert cbam_result.summary() in html
    shown = _pngs(html)
    assert len(shown) == 3 and re.findall(r"<figcaption>(.*?)</figcaption>", html) == [
        "top predictions",
        "channel gates of every block",
        "spatial gates on the input",
    ]
    assert np.array_equal(shown[1][..., :3], channel_overview(cbam_result))  # the very views the app draws
    assert np.array_equal(shown[2][..., :3], spatial_grid(cbam_result))
    stacked = np.asarray(Image.open(io.BytesIO(cbam_result._repr_png_())))
    assert stacked.shape[0] == sum(p.shape[0] for p in shown) + 2 * 8  # the same three, stacked
    assert cbam_result.summary().startswith(f"{cbam_result.model_title} on disc.png: ")


def test_text_is_escaped_and_the_note_is_shown(cbam_result):
    from dataclasses import replace

    odd = replace(cbam_result, model_title="<b>net & co</b>", note="no <class> scores")
    html = odd._repr_html_()
    assert "&lt;b&gt;net &amp; co&lt;/b&gt;" in html and "<i>no &lt;class&gt; scores</i>" in html


def test_the_overview_figure_draws_every_gate_it_recorded(cbam_result):
    fig = cbam_result.figure("overview")
    assert isinstance(fig, Figure)
    bars = [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection) and c.get_gid() == BARS_GID]
    blocks = [b for b in cbam_result.blocks if b.channel_gate is not None]
    assert len(bars) == len(blocks)
    for collection, block in zip(bars, blocks, strict=True):
        heights = np.array([path.vertices[1, 1] for path in collection.get_paths()])
        np.testing.assert_array_equal(heights.astype(np.float32), block.channel_gate)


def test_the_spatial_figure_shows_each_gate_over_the_input(cbam_result):
    fig = cbam_result.figure("spatial", cmap="magma")
    gates = [
        image.get_array() for ax in fig.axes for image in ax.get_images() if image.get_array().shape[:2] != (96, 128)
    ]
    assert [g.shape for g in gates] == [b.spatial_gate.shape for b in cbam_result.spatial_blocks]
    for shown, block in zip(gates, cbam_result.spatial_blocks, strict=True):
        np.testing.assert_array_equal(np.asarray(shown), block.spatial_gate)
    assert all(image.get_cmap().name == "magma" for ax in fig.axes for image in ax.get_images()[1:])


def test_every_image_figure_kind_and_the_clip_ones(cbam_result, fake_inputs):
    for kind in ("predictions", "barcode", "overlay", "channels"):
        assert isinstance(cbam_result.figure(kind), Figure)
    predictions = cbam_result.figure("predictions").axes[0]
    widths = [p.get_width() for p in predictions.patches]
    np.testing.assert_allclose(widths, [100 * p.probability for p in cbam_result.predictions], rtol=1e-6)
    name = cbam_result.blocks[0].name
    title = cbam_result.figure("overlay", block=name).axes[0].get_title()
    assert cbam_result.blocks[0].label in title
    with pytest.raises(InputError, match=r"no figure 'nope' for a ImageResult; choose one of: overview, spatial"):
        cbam_result.figure("nope")
    clip = pipeline.analyse_clip(fake_inputs.clip, model="fake_motion3d")
    timeline = clip.figure("timeline")
    assert isinstance(timeline, Figure) and isinstance(timeline.axes[0].get_images()[0], AxesImage)
    assert len(_pngs(clip._repr_html_())) == 2
    with pytest.raises(InputError, match="choose one of: predictions, timeline"):
        clip.figure("overview")


def test_a_network_without_spatial_gates_says_so(fake_models, fake_inputs):
    result = pipeline.analyse_image(fake_inputs.image, model="fake_se")
    with pytest.raises(InputError, match="has no spatial gates to show"):
        result.figure("spatial")
    assert len(_pngs(result._repr_html_())) == 3  # the grid slot says why it is empty
