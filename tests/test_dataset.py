"""The dataset job's parts: mergeable sums, the mask pointing game, the listing, and a small run end to end."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest
import torch

from tools.data.folders import write_image_folder
from tools.training.metrics import box_on_grid
from visualiser.dataset import dataset_statistics
from visualiser.dataset.pointing import box_mask, mask_in_input, object_cells, pointing_hits
from visualiser.dataset.sources import part_batches, read_listing, write_listing
from visualiser.dataset.sums import GateSums, merge_all
from visualiser.errors import InputError, VisualiserError
from visualiser.models.registry import Preprocess
from visualiser.paths import IMAGE_SUFFIXES
from visualiser.preprocess import image_geometry

CLASSES = ("a", "b", "c", "d")


def _gates(seed: int, n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    labels = rng.choice([0, 1, 3], n)  # class "c" never appears
    gates = {"s1": rng.random((n, 5), dtype=np.float32), "s2": rng.beta(0.3, 0.3, (n, 7)).astype(np.float32)}
    return labels, gates


# --- sums ----------------------------------------------------------------------------------------------


def test_sums_of_any_split_add_up_to_the_direct_statistics():
    labels, gates = _gates(0, 37)
    whole = GateSums.from_batch(CLASSES, labels, gates)
    cuts = [0, 5, 6, 20, 37]
    parts = [
        GateSums.from_batch(CLASSES, labels[a:b], {k: v[a:b] for k, v in gates.items()})
        for a, b in itertools.pairwise(cuts)
    ]
    merged = merge_all([None, *parts, None])
    assert merged is not None and merged.inputs == 37
    np.testing.assert_array_equal(merged.class_counts(), np.bincount(labels, minlength=4))
    for block, g in gates.items():
        for kind in ("above", "below"):  # counts: exact whatever the split
            np.testing.assert_array_equal(merged.per_class(block, kind), whole.per_class(block, kind))
        np.testing.assert_allclose(merged.per_class(block, "sum"), whole.per_class(block, "sum"), rtol=1e-12)
        for k in (0, 1, 3):
            rows = g[labels == k].astype(np.float64)
            np.testing.assert_allclose(merged.class_mean(block)[k], rows.mean(0), rtol=1e-12)
            np.testing.assert_allclose(merged.class_std(block)[k], rows.std(0), rtol=1e-7, atol=1e-12)
            np.testing.assert_array_equal(merged.per_class(block, "above")[k], (rows > 0.9).sum(0))
            np.testing.assert_array_equal(merged.per_class(block, "below")[k], (rows < 0.1).sum(0))
        assert np.isnan(merged.class_mean(block)[2]).all()  # an absent class has no mean, not a zero
        np.testing.assert_allclose(merged.all_mean(block), g.astype(np.float64).mean(0), rtol=1e-12)


def test_the_same_partials_in_the_same_order_give_the_same_bits_and_survive_bytes():
    labels, gates = _gates(1, 50)
    halves = [GateSums.from_batch(CLASSES, labels[s], {k: v[s] for k, v in gates.items()})
              for s in (slice(0, 25), slice(25, 50))]  # fmt: skip
    one = merge_all(halves)
    two = merge_all([GateSums.from_bytes(h.to_bytes()) for h in halves])
    assert one is not None and two is not None
    for key in one.arrays:
        np.testing.assert_array_equal(one.arrays[key], two.arrays[key])
    with pytest.raises(VisualiserError, match="different blocks"):
        one.add(GateSums.from_batch(CLASSES, labels, {"s1": gates["s1"]}))


def test_saturation_counts_use_the_meters_thresholds():
    from visualiser.render.channels import saturation

    gate = np.array([[0.95, 0.9, 0.91, 0.5, 0.1, 0.09, 0.0, 1.0]], np.float32)
    sums = GateSums.from_batch(CLASSES, np.array([2]), {"b": gate})
    meter = saturation(gate[0])
    assert sums.arrays["b/above"].sum() / gate.size == meter["above_0_9"]
    assert sums.arrays["b/below"].sum() / gate.size == meter["below_0_1"]


def test_reference_stats_from_sums_are_the_fig6_format(tmp_path):
    from visualiser.reference_stats import load_reference_stats, save_reference_stats

    labels, gates = _gates(2, 20)
    sums = GateSums.from_batch(CLASSES, labels, gates).dense()
    loaded = load_reference_stats(save_reference_stats(sums.reference_stats(), tmp_path / "m.stats.npz"))
    assert loaded.classes == CLASSES and loaded.blocks() == ("s1", "s2")
    np.testing.assert_array_equal(loaded.counts, np.bincount(labels, minlength=4))
    np.testing.assert_allclose(loaded.class_mean["s2"][3], gates["s2"][labels == 3].mean(0), rtol=1e-6)


# --- pointing game ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("grid", [(6, 6), (12, 12), (7, 7), (5, 9), (3, 3)])
def test_a_filled_box_scores_exactly_as_the_cards_box_rule(grid):
    rng = np.random.default_rng(sum(grid))
    for _ in range(40):
        x0, y0 = rng.integers(0, 90, 2)
        x1, y1 = x0 + rng.integers(1, 96 - x0 + 1), y0 + rng.integers(1, 96 - y0 + 1)
        cells = object_cells(box_mask((x0, y0, x1, y1), 96), grid)
        gx0, gy0, gx1, gy1 = box_on_grid((int(x0), int(y0), int(x1), int(y1)), (96, 96), grid)
        expected = np.zeros(grid, bool)
        expected[gy0:gy1, gx0:gx1] = True
        np.testing.assert_array_equal(cells, expected)


def test_a_mask_is_carried_into_the_input_frame_through_the_crop():
    pre = Preprocess(input_size=12, crop_pct=0.875)
    geometry = image_geometry(40, 25, pre)  # resized 21×13 → 13 px short side, centre crop 12
    mask = np.zeros((25, 40), bool)
    mask[3:9, 20:31] = True
    mask[20, 2] = True  # outside the crop
    got = mask_in_input(mask, geometry, 12)
    sx, sy = 40 / geometry.resized_size[0], 25 / geometry.resized_size[1]
    left, top = geometry.crop_box[:2]
    expected = np.zeros((12, 12), bool)
    for v in range(12):
        for u in range(12):
            x0, x1 = (left + u) * sx, (left + u + 1) * sx
            y0, y1 = (top + v) * sy, (top + v + 1) * sy
            ys, xs = np.nonzero(mask)
            expected[v, u] = bool(((xs < x1) & (xs + 1 > x0) & (ys < y1) & (ys + 1 > y0)).any())
    np.testing.assert_array_equal(got, expected)
    assert got.any() and not got.all()
    with pytest.raises(ValueError, match="mask is"):
        mask_in_input(mask[:-1], geometry, 12)


def test_pointing_hits_at_the_maximum_for_images_and_clips():
    target = box_mask((0, 0, 8, 8), 16)  # top-left quarter
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0, 1, 1] = 1.0  # inside
    maps[1, 3, 3] = 1.0  # outside
    np.testing.assert_array_equal(pointing_hits(maps, np.stack([target, target])), [True, False])
    frames = np.stack([box_mask((8, 8, 16, 16), 16), target])  # object moves from bottom-right to top-left
    clip = np.zeros((1, 2, 4, 4), np.float32)
    clip[0, 1, 0, 0] = 1.0  # late gate, top-left: frame 1's object
    assert pointing_hits(clip, frames[None]).tolist() == [True]
    clip[0, 1, 0, 0], clip[0, 0, 0, 0] = 0.0, 1.0  # early gate, top-left: frame 0's object is elsewhere
    assert pointing_hits(clip, frames[None]).tolist() == [False]


# --- listing ------------------------------------------------------------------------------------------------


def test_a_folder_is_listed_with_its_masks_and_nothing_else(tmp_path):
    write_image_folder(tmp_path / "f", per_class=3, seed=0, classes=("ring", "star"), masks=True)
    (tmp_path / "f" / "star" / "notes.txt").write_text("not an image")
    (tmp_path / "f" / "star" / ".hidden.png").write_bytes(b"")
    (tmp_path / "f" / ".cache").mkdir()
    (tmp_path / "f" / "empty").mkdir()
    listing = write_listing(tmp_path / "f", IMAGE_SUFFIXES, tmp_path / "listing", batch_size=2)
    assert listing.classes == ("empty", "ring", "star") and listing.size == 6 and listing.has_masks
    assert listing.part_rows == 2 and len(listing.parts) == 3 and read_listing(tmp_path / "listing") == listing
    rows = []
    for part in listing.parts:  # a small source: one batch a part (a Ray block each)
        with part.open() as handle:
            rows += list(csv.DictReader(handle))
    assert [r["index"] for r in rows] == [str(i) for i in range(6)]
    assert {r["label"] for r in rows} == {"1", "2"}
    assert all(r["mask"].endswith(".mask.png") and r["path"].endswith(".png") for r in rows)
    assert not any(r["path"].endswith(".mask.png") for r in rows)


def test_a_csv_list_with_relative_paths_and_numeric_labels(tmp_path):
    write_image_folder(tmp_path / "f", per_class=2, seed=0, classes=("ring",))
    table = tmp_path / "list.csv"
    table.write_text("path,label\nf/ring/000.png,10\nf/ring/001.png,2\nf/ring/000.png,2\n")
    listing = write_listing(table, IMAGE_SUFFIXES, tmp_path / "listing", batch_size=4)
    assert listing.classes == ("2", "10") and listing.size == 3 and not listing.has_masks
    assert [part_batches(n) for n in (1, 64, 65, 512, 10_000)] == [1, 1, 2, 8, 8]
    with listing.parts[0].open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["label"] for r in rows] == ["1", "0", "0"] and rows[0]["path"] == str(tmp_path / "f/ring/000.png")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "no class sub-folders"),
        (lambda p: (p / "cls").mkdir(parents=True), "no usable files"),
        (lambda p: p.with_suffix(".csv").write_text("file,class\nx.png,a\n"), "needs the columns path and label"),
        (lambda p: None, "no such folder"),
    ],
)
def test_unusable_sources_are_one_sentence(tmp_path, make, message):
    source = tmp_path / "src"
    make(source)
    target = source.with_suffix(".csv") if source.with_suffix(".csv").exists() else source
    with pytest.raises(InputError, match=message):
        write_listing(target, IMAGE_SUFFIXES, tmp_path / "listing", batch_size=4)


# --- a small run end to end -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("shapes")
    write_image_folder(root, per_class=3, seed=11, classes=("circle", "star", "triangle"), masks=True)
    (root / "star" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a truncated PNG
    return root


def test_a_small_run_writes_what_the_fig6_view_reads_and_names_the_broken_file(shapes_folder, tmp_path):
    from visualiser import pipeline
    from visualiser.reference_stats import load_reference_stats
    from visualiser.render.reference import reference_figure

    run = dataset_statistics(
        "shapes_cbam", shapes_folder, tmp_path / "out", workers=0, batch_size=4, progress=False, figures=False
    )
    assert run.files == 10 and run.sums.inputs == 9
    assert [(row, path.endswith("zz_broken.png")) for row, path, _ in run.failures] == [(6, True)]
    names = {p.name for p in run.written}
    assert {"shapes_cbam.stats.npz", "report.json", "skipped.csv", "classes.csv", "channels.csv"} <= names
    stats = load_reference_stats(tmp_path / "out" / "shapes_cbam.stats.npz")
    assert stats.classes == ("circle", "star", "triangle") and list(stats.counts) == [3, 3, 3]
    # The class means are the means of the app's own analyses of the same files.
    results = {
        c: [pipeline.analyse_image(p, model="shapes_cbam") for p in sorted((shapes_folder / c).glob("0*[0-9].png"))]
        for c in stats.classes
    }
    for k, c in enumerate(stats.classes):
        direct = np.mean([r.blocks[-1].channel_gate for r in results[c]], axis=0)
        np.testing.assert_allclose(stats.class_mean["layer4.0.se"][k], direct, rtol=1e-5, atol=1e-6)
    figure = reference_figure(results["star"][0], stats)  # the app's Fig. 6 view draws these statistics
    assert len(figure.axes) >= 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["used"] == 9 and report["skipped_files"][0]["path"].endswith("zz_broken.png")
    assert "truncated" in report["skipped_files"][0]["reason"] or "cannot" in report["skipped_files"][0]["reason"]


def test_an_interrupted_run_resumes_to_the_same_bits(shapes_folder, tmp_path):
    kwargs = {"workers": 0, "batch_size": 3, "progress": False, "figures": False}
    whole = dataset_statistics("shapes_se", shapes_folder, None, **kwargs)

    def stop_after_two_batches(done: int) -> None:
        if done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dataset_statistics("shapes_se", shapes_folder, tmp_path / "cut", on_batch=stop_after_two_batches, **kwargs)
    resumed = dataset_statistics("shapes_se", shapes_folder, tmp_path / "cut", **kwargs)
    assert resumed.resumed_from == 6 and resumed.rows_this_run == 4
    assert [f[:2] for f in resumed.failures] == [f[:2] for f in whole.failures]
    for key, value in whole.sums.arrays.items():
        np.testing.assert_array_equal(resumed.sums.arrays[key], value, err_msg=key)
    with pytest.raises(VisualiserError, match="holds another run"):
        dataset_statistics("shapes_cbam", shapes_folder, tmp_path / "cut", **kwargs)
    again = dataset_statistics("shapes_se", shapes_folder, tmp_path / "cut", fresh=True, **kwargs)
    assert again.resumed_from == 0 and again.rows_this_run == 10


def test_a_model_without_gates_and_a_bad_batch_size_are_refused_before_work(shapes_folder):
    with pytest.raises(VisualiserError, match="no attention gates"):
        dataset_statistics("shapes_plain", shapes_folder)
    with pytest.raises(InputError, match="batch size"):
        dataset_statistics("shapes_se", shapes_folder, batch_size=0)
    with pytest.raises(InputError, match="unknown engine"):
        dataset_statistics("shapes_se", shapes_folder, engine="spark")  # type: ignore[arg-type]


def test_the_padded_forward_gives_each_input_the_same_gates_whatever_its_batch():
    from visualiser.dataset.runner import GateRunner
    from visualiser.pipeline import get_model

    loaded = get_model("shapes_cbam")
    runner = GateRunner(loaded.model, None, batch_size=6)
    x = torch.randn(6, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    full = runner.gates(x)
    part = runner.gates(x[2:5])
    for block, gates in full.channel.items():
        np.testing.assert_array_equal(part.channel[block], gates[2:5])
    with pytest.raises(ValueError, match="larger than"):
        runner.gates(torch.zeros(7, 3, 96, 96))
