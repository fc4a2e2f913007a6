"""Training, evaluation and statistics of the embedded models, and the shipped weights themselves."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tools.data.folders import write_image_folder
from tools.training.cli import main
from tools.training.metrics import box_on_grid, class_means, per_class_accuracy, pointing_hits
from tools.training.recipes import RECIPES, get_recipe, learning_rate
from visualiser.models.registry import get_spec
from visualiser.paths import ASSETS_DIR

EMBEDDED = ("shapes_plain", "shapes_se", "shapes_cbam", "motion_cbam3d")


@pytest.fixture(autouse=True)
def _one_thread():
    # These tests run small models on a shared 2-core machine, where a second intra-op thread mostly waits.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- metrics --------------------------------------------------------------------------------------


def test_box_on_grid_maps_pixels_to_cells():
    # 112 px onto 7 cells: 16 px each. Pixels 20..40 (exclusive) touch cells 1 and 2.
    assert box_on_grid((20, 0, 40, 16), (112, 112), (7, 7)) == (1, 0, 3, 1)
    assert box_on_grid((0, 0, 112, 112), (112, 112), (7, 7)) == (0, 0, 7, 7)
    assert box_on_grid((32, 48, 33, 49), (112, 112), (7, 7)) == (2, 3, 3, 4)


def test_pointing_hits_images_and_clips():
    maps = np.zeros((2, 4, 4))
    maps[0, 1, 2] = 1.0  # cell row 1, col 2 → pixels x 32..48, y 16..32 of a 64 px image
    maps[1, 3, 0] = 1.0  # pixels x 0..16, y 48..64
    boxes = np.array([[30, 10, 50, 30], [30, 10, 50, 30]])
    np.testing.assert_array_equal(pointing_hits(maps, boxes, (64, 64)), [True, False])
    clip_maps = np.zeros((1, 2, 4, 4))
    clip_maps[0, 1, 0, 0] = 1.0  # second temporal cell → frames 2..3 of 4
    clip_boxes = np.array([[[40, 40, 64, 64], [40, 40, 64, 64], [0, 0, 10, 10], [0, 0, 10, 10]]])
    assert pointing_hits(clip_maps, clip_boxes, (64, 64)).tolist() == [True]
    clip_boxes[0, 2:] = [40, 40, 64, 64]
    assert pointing_hits(clip_maps, clip_boxes, (64, 64)).tolist() == [False]
    with pytest.raises(ValueError, match="maps must be"):
        pointing_hits(np.zeros((2, 3)), boxes, (64, 64))


def test_per_class_accuracy_and_class_means():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    acc = per_class_accuracy(predicted, labels, 4)
    np.testing.assert_allclose(acc[:3], [0.5, 2 / 3, 1.0])
    assert math.isnan(acc[3])
    vectors = np.arange(12, dtype=np.float32).reshape(6, 2)
    means, stds, counts = class_means(vectors, labels, 4)
    np.testing.assert_allclose(means[1], vectors[2:5].mean(0))
    np.testing.assert_allclose(stds[0], vectors[:2].std(0))
    assert counts.tolist() == [2, 3, 1, 0] and np.isnan(means[3]).all()


def test_learning_rate_is_one_cycle():
    r = get_recipe("shapes_cbam")
    lrs = [learning_rate(r, p) for p in np.linspace(0, 1, 201)]
    peak = int(np.argmax(lrs))
    assert lrs[peak] == pytest.approx(r.peak_lr, rel=1e-3)
    assert abs(peak / 200 - r.warmup) <= 0.01
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1 :], strict=False))  # decays after the peak
    assert lrs[-1] == pytest.approx(r.peak_lr * r.final_lr_ratio)
    assert lrs[0] < 0.1 * r.peak_lr


def test_unknown_recipe_is_a_user_error(capsys):
    assert main(["eval", "no_such_model"]) == 2
    assert "trainable models" in capsys.readouterr().err


# --- the training loop ----------------------------------------------------------------------------


def test_training_steps_reduce_the_loss():
    # The loop's own step function, on one fixed batch of easy samples: the loss must fall quickly.
    from tools.training.loop import _optimizer, training_step
    from tools.training.streams import make_batch

    torch.manual_seed(0)
    spec = get_spec("shapes_se")
    model = spec.builder().train()
    recipe = get_recipe("shapes_se")
    opt = _optimizer(model, recipe)
    batch = make_batch("shapes", 0, 16, spec.preprocess, ramp_samples=10**6)  # clutter ~0
    criterion = torch.nn.CrossEntropyLoss()
    losses = [training_step(model, opt, criterion, batch.inputs, batch.labels, 2e-3, 2.0) for _ in range(12)]
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])


def test_resumed_run_equals_uninterrupted_run(tmp_path):
    from tools.training.loop import train

    kwargs = dict(
        steps=5, seed=1, threads=1, progress=False, workers=0, batch_size=6, evaluate_samples=8, checkpoint_every_s=0.0
    )
    train("shapes_se", out_dir=tmp_path / "a", checkpoint_dir=tmp_path / "ca", **kwargs)

    class Stop(Exception):
        pass

    def stop_at_3(step, _loss):
        if step == 3:
            raise Stop

    with pytest.raises(Stop):
        train("shapes_se", out_dir=tmp_path / "b", checkpoint_dir=tmp_path / "cb", on_step=stop_at_3, **kwargs)
    seen: list[int] = []
    card = train(
        "shapes_se",
        out_dir=tmp_path / "b",
        checkpoint_dir=tmp_path / "cb",
        on_step=lambda s, _l: seen.append(s),
        **kwargs,
    )
    assert seen == [4, 5] and card["training"]["steps"] == 5
    a = load_file(str(tmp_path / "a" / "shapes_se.safetensors"))
    b = load_file(str(tmp_path / "b" / "shapes_se.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert not list((tmp_path / "cb").glob("*.pt"))  # a finished run removes its checkpoint


def test_written_files_reload_and_reproduce_the_card(tmp_path):
    from tools.training.evaluation import evaluate_model
    from tools.training.loop import train

    card = train(
        "shapes_cbam",
        steps=2,
        seed=0,
        out_dir=tmp_path,
        threads=1,
        progress=False,
        workers=0,
        batch_size=4,
        checkpoint_dir=tmp_path / "ckpt",
        evaluate_samples=24,
    )
    on_disk = json.loads((tmp_path / "shapes_cbam.card.json").read_text())
    assert on_disk["metrics"]["accuracy"] == card["metrics"]["accuracy"]
    assert on_disk["weights"]["size_bytes"] == (tmp_path / "shapes_cbam.safetensors").stat().st_size
    labels = (tmp_path / "shapes_cbam.labels.txt").read_text().split()
    assert labels == on_disk["labels"] and len(labels) == 8
    spec = get_spec("shapes_cbam")
    model = spec.builder()
    model.load_state_dict(load_file(str(tmp_path / "shapes_cbam.safetensors")), strict=True)
    again, _ = evaluate_model(model.eval(), spec, "shapes", 24, on_disk["data"]["eval_seed"])
    assert again["accuracy"] == on_disk["metrics"]["accuracy"]
    assert again["pointing_game"] == on_disk["metrics"]["pointing_game"]
    stats = np.load(tmp_path / "shapes_cbam.stats.npz")
    blocks = list(stats["blocks"])
    assert blocks == ["layer1.0.se", "layer2.0.se", "layer3.0.se", "layer4.0.se"]
    assert stats["layer4.0.se/class_mean"].shape == (8, model.cfg.widths[-1])
    assert stats["counts"].sum() == 24


# --- statistics: the dataset job over the held-out data ------------------------------------------------


def test_stats_command_runs_the_dataset_job_over_the_chosen_generated_samples(tmp_path, capsys):
    """``python -m tools.training stats NAME --samples N --seed S``: the class counts are those of the stream's first
    N samples, and each class mean is the mean of the gates the network computed for that class's inputs."""
    from tools.training.gates import collect_gates
    from tools.training.streams import make_batch
    from visualiser.models.loading import create_model

    out = tmp_path / "stats"
    argv = ["stats", "shapes_se", "--samples", "20", "--seed", "5", "--workers", "0", "--out", str(out)]
    assert main([*argv, "--no-figures"]) == 0
    assert "shapes_se: 20 of 20 files used" in capsys.readouterr().out
    spec = get_spec("shapes_se")
    batch = make_batch("shapes", 5, 20, spec.preprocess)
    labels = batch.labels.numpy()
    gates = collect_gates(create_model("shapes_se").eval(), [batch.inputs]).stacked_channel()
    with np.load(out / "shapes_se.stats.npz") as made:
        assert list(made["counts"]) == list(np.bincount(labels, minlength=8))
        assert list(made["blocks"]) == list(gates)
        for block, per_input in gates.items():
            for k in np.unique(labels):
                np.testing.assert_allclose(made[f"{block}/class_mean"][k], per_input[labels == k].mean(0), atol=1e-6)


def test_stats_command_refuses_a_model_it_cannot_generate_data_for(capsys):
    assert main(["stats", "seresnet50.a1_in1k"]) == 2
    assert "trainable models" in capsys.readouterr().err


@pytest.mark.slow
def test_shipped_statistics_are_the_dataset_job_over_the_held_out_data(tmp_path):
    """``python -m tools.training stats shapes_cbam`` (the product's dataset job over the card's held-out data)
    reproduces the shipped .stats.npz bit for bit, and its pointing game per block is the card's (the same
    held-out samples, the same rule)."""
    assert main(["stats", "shapes_cbam", "--out", str(tmp_path), "--no-figures"]) == 0
    shipped_path = ASSETS_DIR / "models/shapes_cbam.stats.npz"
    with np.load(tmp_path / "shapes_cbam.stats.npz") as made, np.load(shipped_path) as shipped:
        assert sorted(made.files) == sorted(shipped.files)
        for key in shipped.files:
            np.testing.assert_array_equal(made[key], shipped[key], err_msg=key)
    card = json.loads((ASSETS_DIR / "models/shapes_cbam.card.json").read_text())
    report = json.loads((tmp_path / "report.json").read_text())
    rates = {block: v["rate"] for block, v in report["pointing_game"].items()}
    assert rates == card["metrics"]["pointing_game_per_block"]


def test_statistics_of_a_model_without_gates_is_a_user_error(tmp_path, capsys):
    from visualiser.cli import main as cli_main

    folder = tmp_path / "imgs"
    write_image_folder(folder, per_class=1, seed=1, classes=("ring",))
    assert cli_main(["stats", "shapes_plain", str(folder), "--out", str(tmp_path / "x")]) == 2
    assert "no attention gates" in capsys.readouterr().err


# --- the shipped models ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", EMBEDDED)
def test_embedded_spec_points_at_shipped_files(name):
    spec = get_spec(name)
    assert spec.embedded and spec.weights.kind == "embedded"
    assert spec.weights.location == f"models/{name}.safetensors"
    card = json.loads((ASSETS_DIR / f"models/{name}.card.json").read_text())
    assert spec.weights.checksum == f"sha256:{card['weights']['sha256']}"
    labels = (ASSETS_DIR / f"models/{name}.labels.txt").read_text().split()
    assert spec.labels == f"file:models/{name}.labels.txt" and labels == card["labels"]
    model = spec.builder()
    assert model.fc.out_features == len(labels)
    assert card["parameters"] == sum(p.numel() for p in model.parameters())


def test_shipped_weights_fit_under_the_size_budget():
    total = sum((ASSETS_DIR / f"models/{n}.safetensors").stat().st_size for n in EMBEDDED)
    assert total < 40e6


def test_image_models_differ_only_in_attention():
    configs = {n: get_spec(n).builder().cfg for n in EMBEDDED[:3]}
    stripped = {n: (c.block, c.layers, c.widths, c.stem, c.stem_width, c.num_classes) for n, c in configs.items()}
    assert len(set(stripped.values())) == 1
    assert [c.attn for c in configs.values()] == ["none", "se", "cbam"]


def test_clip_model_starts_with_a_real_conv3d():
    model = get_spec("motion_cbam3d").builder()
    assert isinstance(model.stem[0], torch.nn.Conv3d) and model.stem[0].kernel_size[0] == 3


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "samples"), [("shapes_plain", 1000), ("shapes_se", 1000), ("shapes_cbam", 1000), ("motion_cbam3d", 500)]
)
def test_shipped_weights_reach_their_card_on_fresh_data(name, samples):
    from tools.training.evaluation import evaluate

    card = json.loads((ASSETS_DIR / f"models/{name}.card.json").read_text())
    fresh = evaluate(name, samples=samples, seed=424242)
    assert fresh["seed"] != card["data"]["eval_seed"] and fresh["seed"] != card["data"]["train_seed"]
    assert fresh["samples"] == samples and sum(fresh["per_class_accuracy"].values()) > 0

    def slack(p: float) -> float:
        # One point, or 2.5 standard errors of a share measured on `samples` fresh samples if that is larger.
        return max(0.01, 2.5 * math.sqrt(p * (1 - p) / samples))

    for metric in ("accuracy", "pointing_game"):
        if metric in card["metrics"]:
            claimed = card["metrics"][metric]
            assert fresh[metric] >= claimed - slack(claimed), (metric, fresh[metric], claimed)


def test_recipes_cover_exactly_the_embedded_models():
    assert set(RECIPES) == set(EMBEDDED)


# --- model cards page and example files ------------------------------------------------------------


def test_model_cards_page_quotes_the_card_figures():
    from tools.training.model_cards import render_model_cards

    card = {
        "name": "m",
        "title": "M",
        "parameters": 1234,
        "attention": "cbam",
        "architecture": {"class": "ResNet", "config": {"layers": [1, 1], "attn_options": [["reduction", 4]]}},
        "weights": {"size_bytes": 2_500_000, "dtype": "float32"},
        "data": {
            "generator_version": "shapes-1",
            "train_seed": 0,
            "train_samples": 4800,
            "eval_seed": 9,
            "eval_samples": 100,
        },
        "training": {
            "optimizer": "AdamW",
            "recipe": {"peak_lr": 0.001, "batch_size": 48, "weight_decay": 0.05, "label_smoothing": 0.05},
            "steps": 100,
            "wall_time_s": 90.0,
            "threads": 1,
        },
        "metrics": {
            "accuracy": 0.9734,
            "per_class_accuracy": {"a": 0.95, "b": 1.0},
            "pointing_game": 0.8125,
            "pointing_game_block": "layer2.0.se",
            "pointing_game_per_block": {"layer2.0.se": 0.8125},
            "mean_channel_gate": {"layer2.0.se": {"a": 0.4, "b": 0.6}},
        },
    }
    page = render_model_cards([card])
    assert "97.3 %" in page and "81.2 %" in page and "1,234 parameters" in page and "0.40–0.60" in page
