"""SE-paper Fig. 6 view: the one statistics format, its loader, channel sampling and the drawn curves."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.render_fixtures import resnet50_like_result
from visualiser.errors import VisualiserError
from visualiser.reference_stats import ALL_CLASSES, ReferenceStats, load_reference_stats, save_reference_stats
from visualiser.render import reference


def _stats_for(result, classes=("goldfish", "pug", "plane", "cliff")) -> ReferenceStats:
    rng = np.random.default_rng(0)
    blocks = [b for b in result.blocks if b.channel_gate is not None]
    return ReferenceStats(
        classes=tuple(classes),
        counts=np.full(len(classes), 50),
        class_mean={b.name: rng.random((len(classes), b.channels)).astype(np.float32) for b in blocks},
        all_mean={b.name: rng.random(b.channels).astype(np.float32) for b in blocks},
        class_std={},
    )


def _one_block(name: str, channels: int, classes=("pug",)) -> ReferenceStats:
    rows = np.ones((len(classes), channels), np.float32)
    return ReferenceStats(tuple(classes), np.ones(len(classes)), {name: rows}, {name: rows[0]}, {})


def test_save_and_load_round_trip_the_one_format(tmp_path):
    result = resnet50_like_result("se", gradcam=False)
    stats = _stats_for(result)
    path = save_reference_stats(stats, tmp_path / "m.stats.npz")
    with np.load(path, allow_pickle=False) as raw:
        assert {"classes", "counts", "blocks", "layer4.2.se/class_mean", "layer1.0.se/all_mean"} <= set(raw.files)
        assert raw["layer4.2.se/class_mean"].shape == (4, 2048)
    loaded = load_reference_stats(path)
    assert loaded.blocks() == stats.blocks() and loaded.classes == ("goldfish", "pug", "plane", "cliff")
    np.testing.assert_array_equal(loaded.curves["layer3.5.se"]["pug"], stats.class_mean["layer3.5.se"][1])
    np.testing.assert_array_equal(loaded.curves["layer3.5.se"][ALL_CLASSES], stats.all_mean["layer3.5.se"])


def test_class_names_may_contain_slashes(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, classes=np.array(["cat/dog"]), **{"layer1.0.se/class_mean": np.ones((1, 4), np.float32)})
    assert load_reference_stats(path).curves["layer1.0.se"].keys() == {"cat/dog"}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"layer1.0.se/class_mean": np.ones((1, 3), np.float32)}, "no 'classes' array"),
        ({"classes": np.array(["a"]), "b/class_mean": np.ones(3, np.float32)}, r"expected \(1, C\)"),
        ({"classes": np.array(["a"]), "b/class_mean": np.ones((1, 3), np.int64)}, "must hold floats"),
        ({"classes": np.array(["a"]), "b/class_mean": np.ones((1, 3)), "b/all_mean": np.ones(4)}, "different lengths"),
        ({"classes": np.array(["a"])}, "no '<block>/class_mean'"),
    ],
)
def test_malformed_statistics_are_rejected(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(VisualiserError, match=message):
        load_reference_stats(path)


def test_missing_or_corrupt_files_are_user_facing_errors(tmp_path):
    with pytest.raises(VisualiserError, match="not found"):
        load_reference_stats(tmp_path / "absent.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(VisualiserError, match="cannot be read"):
        load_reference_stats(corrupt)


def test_channel_sample_is_uniform_and_shared():
    index = reference.sample_channels(2048, 50)
    assert len(index) == 50 and index[0] == 0 and index[-1] == 2047
    assert np.all(np.diff(index) > 0)
    assert np.ptp(np.diff(index)) <= 1  # evenly spaced
    np.testing.assert_array_equal(reference.sample_channels(16, 50), np.arange(16))


def test_default_blocks_are_the_papers_choice():
    result = resnet50_like_result("se", gradcam=False)
    # SE_2_3, SE_3_4, SE_4_6, SE_5_1, SE_5_2, SE_5_3 in the paper's 1-based stage numbering
    assert reference.default_blocks(result.blocks) == [
        "layer1.2.se",
        "layer2.3.se",
        "layer3.5.se",
        "layer4.0.se",
        "layer4.1.se",
        "layer4.2.se",
    ]


def test_figure_draws_this_input_and_the_class_means_at_the_same_channels():
    result = resnet50_like_result("se", gradcam=False)
    stats = _stats_for(result)
    fig = reference.reference_figure(result, stats, channels_per_block=50)
    panels = [ax for ax in fig.axes if ax.lines]
    assert len(panels) == 6
    ax = panels[-1]
    block = result.block("layer4.2.se")
    index = reference.sample_channels(2048, 50)
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(lines["this input"].get_ydata(), block.channel_gate[index])
    np.testing.assert_allclose(lines["pug"].get_ydata(), stats.class_mean["layer4.2.se"][1][index])
    np.testing.assert_allclose(lines["all classes"].get_ydata(), stats.curves["layer4.2.se"][ALL_CLASSES][index])
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_xticklabels()[0].get_text() == "0"


def test_statistics_of_another_model_are_refused():
    result = resnet50_like_result("se", gradcam=False)
    with pytest.raises(VisualiserError, match="do not fit"):
        reference.reference_figure(result, _one_block("layer4.2.se", 512), blocks=["layer4.2.se"])
    with pytest.raises(VisualiserError, match="no curves"):
        reference.reference_figure(result, _one_block("other.se", 3))


@pytest.mark.parametrize("model", ["shapes_se", "shapes_cbam"])
def test_shipped_statistics_load_and_match_their_model(model):
    """The shipped statistics (the statistics command's output) read as per-class curves of their model."""
    from visualiser.labels import load_labels
    from visualiser.models.registry import get_spec
    from visualiser.paths import stats_path

    path = stats_path(model)
    assert path.is_file()
    with np.load(path) as raw:
        matrix = raw["layer4.0.se/class_mean"]
        labels = [str(c) for c in raw["classes"]]
        overall = raw["layer4.0.se/all_mean"]
    stats = load_reference_stats(path)
    assert stats.classes == tuple(labels) == load_labels(get_spec(model).labels)
    np.testing.assert_array_equal(stats.curves["layer4.0.se"][labels[2]], matrix[2])
    np.testing.assert_array_equal(stats.curves["layer4.0.se"][ALL_CLASSES], overall)
    assert all(((c >= 0) & (c <= 1)).all() for per in stats.curves.values() for c in per.values())  # sigmoid gates


def test_matrix_layout_with_wrong_row_count_is_rejected(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, classes=np.array(["a", "b"]), **{"b1/class_mean": np.ones((3, 4), np.float32)})
    with pytest.raises(VisualiserError, match=r"expected \(2, C\)"):
        load_reference_stats(path)


def test_the_predicted_class_is_drawn_even_among_more_classes_than_colours():
    """Issue 15: with more than 7 classes the predicted one was silently left out."""
    result = resnet50_like_result("se", gradcam=False)
    predicted = result.predictions[0].label
    classes = [f"other{i}" for i in range(12)] + [predicted]
    fig = reference.reference_figure(result, _stats_for(result, classes))
    labels = {line.get_label() for ax in fig.axes for line in ax.lines}
    assert predicted in labels and "this input" in labels
    widths = {line.get_label(): line.get_linewidth() for line in fig.axes[0].lines}
    assert widths[predicted] > widths["other0"]  # drawn thicker
    assert len({label for label in labels if label.startswith("other")}) == 6  # 7 curves: 6 others and it
    chinese = reference.reference_figure(result, _stats_for(result, classes), lang="zh")
    assert "当前输入" in {line.get_label() for ax in chinese.axes for line in ax.lines}
