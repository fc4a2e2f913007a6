"""The dataset job on a few hundred generated files with masks, through both engines (Ray in local mode).

Slow: Ray starts a local cluster (tens of seconds here) and every file goes through the network a few times.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from PIL import Image

from tools.data.folders import write_image_folder
from visualiser.dataset import dataset_statistics
from visualiser.dataset.pointing import mask_in_input

pytestmark = pytest.mark.slow

PER_CLASS = 32  # 8 classes: 256 files
BATCH = 16  # 17 batches: 17 parts, 17 Ray blocks


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes256")
    write_image_folder(root, per_class=PER_CLASS, seed=23, masks=True)
    (root / "ring" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)  # truncated: skipped, named
    (root / "star" / "notes.png").write_text("a text file with an image's name")
    return root


@pytest.fixture(scope="module")
def local_run(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    return dataset_statistics("shapes_cbam", folder, out, workers=2, batch_size=BATCH, progress=False)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from visualiser.paths import REPO_ROOT

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT)}})  # fmt: skip
    yield ray
    ray.shutdown()


def _skipped(run) -> list[tuple[int, str]]:
    return sorted((row, path.rsplit("/", 1)[-1]) for row, path, _ in run.failures)


def test_local_engine_counts_names_and_draws(local_run, folder):
    assert local_run.files == 8 * PER_CLASS + 2 and local_run.sums.inputs == 8 * PER_CLASS
    assert [name for _, name in _skipped(local_run)] == ["broken.png", "notes.png"]
    names = {p.name for p in local_run.written}
    assert {"fig6.png", "saturation.png", "channel_shares.png", "pointing.png", "shapes_cbam.stats.npz"} <= names
    report = json.loads((local_run.written[0].parent / "report.json").read_text())
    assert [c["count"] for c in report["classes"]] == [PER_CLASS] * 8
    assert {s["path"].rsplit("/", 1)[-1] for s in report["skipped_files"]} == {"broken.png", "notes.png"}
    last = report["blocks"][-1]
    assert 0 <= last["saturated_share"] <= 1 and all(c["share"] >= 0.99 for c in last["always_on"])


def test_pointing_game_equals_a_direct_computation(local_run, folder):
    """Two classes' hits, recomputed file by file from the app's own analyses and the masks."""
    from visualiser import pipeline

    sums = local_run.sums
    for name in ("circle", "star"):
        hits = dict.fromkeys(sums.spatial, 0)
        for path in sorted((folder / name).glob("[0-9]*[0-9].png")):
            result = pipeline.analyse_image(path, model="shapes_cbam")
            mask = np.asarray(Image.open(path.with_name(f"{path.stem}.mask.png"))) > 0
            target = mask_in_input(mask, result.geometry, 96)
            for block in result.spatial_blocks:
                gate = block.spatial_gate
                i, j = np.unravel_index(int(np.argmax(gate)), gate.shape)
                h, w = gate.shape
                rows = slice(int(np.floor(i * 96 / h)), int(np.ceil((i + 1) * 96 / h)))
                cols = slice(int(np.floor(j * 96 / w)), int(np.ceil((j + 1) * 96 / w)))
                hits[block.name] += bool(target[rows, cols].any())
        k = sums.classes.index(name)
        for block in sums.spatial:
            assert sums.per_class(block, "trials")[k] == PER_CLASS
            assert sums.per_class(block, "hits")[k] == hits[block], (name, block)


def test_ray_engine_gives_the_local_engines_numbers(ray_cluster, local_run, folder, tmp_path):
    run = dataset_statistics(
        "shapes_cbam", folder, tmp_path, engine="ray", workers=2, batch_size=BATCH, progress=False, figures=False
    )
    assert run.engine == "ray" and _skipped(run) == _skipped(local_run)
    for key, value in local_run.sums.arrays.items():
        if value.dtype.kind == "f":  # float64 sums: within 1e-12 (in fact equal: the same batches, the same order)
            np.testing.assert_allclose(run.sums.arrays[key], value, rtol=1e-12, atol=0, err_msg=key)
        else:
            np.testing.assert_array_equal(run.sums.arrays[key], value, err_msg=key)
    with np.load(tmp_path / "shapes_cbam.stats.npz") as a, np.load(local_run.written[0]) as b:
        assert sorted(a.files) == sorted(b.files)


def test_a_ray_run_interrupted_resumes_on_the_local_engine(ray_cluster, local_run, folder, tmp_path):
    """The checkpoint is engine-neutral: half on Ray, the rest locally, the same sums as the local run alone."""

    def stop(done: int) -> None:
        if done >= 96:
            raise KeyboardInterrupt

    kwargs = {"batch_size": BATCH, "progress": False, "figures": False}
    with pytest.raises(KeyboardInterrupt):
        dataset_statistics("shapes_cbam", folder, tmp_path, engine="ray", workers=2, on_batch=stop, **kwargs)
    run = dataset_statistics("shapes_cbam", folder, tmp_path, workers=1, **kwargs)
    assert run.resumed_from == 96 and _skipped(run) == _skipped(local_run)
    for key, value in local_run.sums.arrays.items():
        np.testing.assert_allclose(run.sums.arrays[key], value, rtol=1e-12, atol=0, err_msg=key)


def test_the_command_line_on_a_users_network(tmp_path):
    """``python -m visualiser stats NAME FOLDER`` for a network registered from Python, and the Fig. 6 view reads
    what it wrote (through the user's statistics folder, ``--install``)."""
    import subprocess

    from tests.support import replica_nets as n
    from tests.support import replicas as r
    from visualiser import pipeline
    from visualiser.cli import main
    from visualiser.models.registry import Preprocess
    from visualiser.paths import REPO_ROOT
    from visualiser.ui.views.image import reference_view

    images = tmp_path / "images"
    write_image_folder(images, per_class=4, seed=2, classes=("circle", "square"))
    net = n.replica_net(lambda c: r.TimmSEModule(c, 8))
    name = pipeline.register_module(net, name="my_se_net", preprocess=Preprocess(input_size=32, crop_pct=1.0))
    try:
        env_cache = tmp_path / "cache"
        argv = ["stats", name, str(images), "--out", str(tmp_path / "out"), "--workers", "0", "--install"]
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VISUALISER_CACHE", str(env_cache))
            assert main(argv) == 0
            assert (env_cache / "stats" / "my_se_net.stats.npz").is_file()
            result = pipeline.analyse_image(images / "circle" / "000.png", model=name)
            shown = reference_view(result)
        assert shown.drawn and len(shown.value.axes) >= 1, shown.note
    finally:
        pipeline.unregister_module(name)
    done = subprocess.run(
        [sys.executable, "-m", "visualiser", "stats", "no_such_model", str(images), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: unknown model")
