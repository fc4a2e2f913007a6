"""Export bundle: the zip opens, every picture decodes, the manifest lists every file, the arrays round-trip."""

from __future__ import annotations

import io
import json
import zipfile

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.render_fixtures import clip_result_3d, small_result
from tests.test_render_reference import _stats_for
from visualiser.analysis.agreement import image_agreement
from visualiser.analysis.stability import stability_scores
from visualiser.render.bundle import BundleOptions, write_bundle, write_clip_figures, write_image_figures


def _check_zip(path) -> tuple[zipfile.ZipFile, dict]:
    archive = zipfile.ZipFile(path)
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    listed = {f["path"] for f in manifest["files"]}
    assert listed == set(archive.namelist()) - {"manifest.json"}
    for entry in manifest["files"]:
        assert archive.getinfo(entry["path"]).file_size == entry["bytes"]
        if entry["path"].endswith(".png"):
            with Image.open(io.BytesIO(archive.read(entry["path"]))) as image:
                image.load()
                assert image.size[0] > 0 and image.size[1] > 0
    return archive, manifest


def test_image_bundle(tmp_path):
    result = small_result("cbam", gradcam=True)
    options = BundleOptions(alpha=0.4, cmap="magma", normalise="shared", per_block=False)
    agreement = image_agreement(result)
    path = write_bundle(result, tmp_path, options, stats=_stats_for(result), agreement=agreement)
    assert path.parent == tmp_path and path.suffix == ".zip"
    archive, manifest = _check_zip(path)
    names = set(archive.namelist())
    assert {
        "result.json",
        "result.npz",
        "predictions.png",
        "channel_overview.png",
        "spatial_grid.png",
        "reference.png",
        "blocks/layer3.0.se/overlay.png",
        "blocks/layer3.0.se/sam_internals.png",
    } <= names
    assert manifest["options"] == {
        "alpha": 0.4,
        "cmap": "magma",
        "normalise": "shared",
        "sort_channels": True,
        "per_block": False,
        "reference_stats": True,
    }
    assert manifest["agreement"] == agreement.to_json()  # the scores handed in, written as they are
    assert set(manifest["agreement"]) == {b.name for b in result.spatial_blocks}
    assert manifest["agreement"]["layer3.0.se"]["resolution"] == [3, 3]
    with np.load(io.BytesIO(archive.read("result.npz"))) as arrays:
        np.testing.assert_array_equal(arrays["layer2.0.se/spatial_gate"], result.block("layer2.0.se").spatial_gate)
    assert json.loads(archive.read("result.json"))["model"] == result.model


def test_clip_bundle_has_a_decodable_video(tmp_path):
    clip = clip_result_3d(frames=6, gate_frames=3)
    archive, manifest = _check_zip(write_bundle(clip, tmp_path, stability=stability_scores(clip)))
    assert manifest["kind"] == "clip"
    assert sum(n.startswith("frames/") for n in archive.namelist()) == 6
    video = tmp_path / "check.mp4"
    video.write_bytes(archive.read("attention.mp4"))
    with av.open(str(video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 6


@pytest.mark.slow
def test_per_block_figures_cover_every_block(tmp_path):
    result = small_result("cbam", gradcam=True)
    written = write_image_figures(result, tmp_path, agreement=image_agreement(result))
    for block in result.blocks:
        folder = tmp_path / "blocks" / block.name
        assert {p.name for p in folder.iterdir()} == {
            "channel_bars.png",
            "cam_branches.png",
            "sam_internals.png",
            "overlay.png",
            "gradcam_vs_attention.png",
        }
    assert all(p.is_file() for p in written)


def test_a_bundle_refuses_to_draw_without_the_scores_its_pictures_print(tmp_path):
    with pytest.raises(ValueError, match="needs agreement="):
        write_bundle(small_result("cbam", gradcam=True), tmp_path)
    with pytest.raises(ValueError, match="needs stability="):
        write_bundle(clip_result_3d(frames=4, gate_frames=2), tmp_path)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_clip_figures_draw_the_stability_scores_they_are_given(tmp_path):
    clip = clip_result_3d(frames=4, gate_frames=4)
    written = write_clip_figures(clip, tmp_path, stability=stability_scores(clip))
    names = {p.relative_to(tmp_path).as_posix() for p in written}
    assert {"predictions.png", "stability.png", "attention.mp4"} <= names
    assert sum(n.startswith("frames/") for n in names) == 4
