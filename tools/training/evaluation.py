"""Held-out evaluation of an embedded model on freshly generated data.

``evaluate`` loads the shipped weights through the registry (as the app does) and scores them
on a new stream of the model's generator: accuracy overall and per class, the pointing game of
every spatial gate, and the mean channel gate per class and block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from tools.training.gates import GateRecord, collect_gates
from tools.training.metrics import class_means, per_class_accuracy, pointing_hits
from tools.training.recipes import get_recipe
from tools.training.streams import DataKind, class_names, generator_version, make_batch
from visualiser.models.loading import create_model
from visualiser.models.registry import ModelSpec, get_spec

EVAL_BATCH = 100


def _batches(
    kind: DataKind, seed: int, samples: int, spec: ModelSpec, labels: list[np.ndarray], boxes: list[np.ndarray]
) -> Iterator[torch.Tensor]:
    for start in range(0, samples, EVAL_BATCH):
        b = make_batch(kind, seed, min(EVAL_BATCH, samples - start), spec.preprocess, start=start)
        labels.append(b.labels.numpy())
        boxes.append(b.boxes)
        yield b.inputs


def evaluate_model(
    model: nn.Module, spec: ModelSpec, kind: DataKind, samples: int, seed: int
) -> tuple[dict[str, Any], GateRecord]:
    """Score ``model`` on ``samples`` held-out samples of stream ``seed``; also returns the raw gates."""
    labels_list: list[np.ndarray] = []
    boxes_list: list[np.ndarray] = []
    record = collect_gates(model, _batches(kind, seed, samples, spec, labels_list, boxes_list))
    labels = np.concatenate(labels_list)
    boxes = np.concatenate(boxes_list)
    logits = record.stacked_logits()
    names = class_names(kind)
    predicted = logits.argmax(1)
    loss = float(torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)))
    per_class = per_class_accuracy(predicted, labels, len(names))
    result: dict[str, Any] = {
        "samples": int(samples),
        "seed": int(seed),
        "generator_version": generator_version(kind),
        "accuracy": float((predicted == labels).mean()),
        "loss": loss,
        "per_class_accuracy": {n: float(a) for n, a in zip(names, per_class, strict=True)},
    }
    size = spec.preprocess.input_size
    spatial = record.stacked_spatial()
    if spatial:
        per_block = {name: float(pointing_hits(maps, boxes, (size, size)).mean()) for name, maps in spatial.items()}
        last = list(per_block)[-1]
        result["pointing_game"] = per_block[last]
        result["pointing_game_block"] = last
        result["pointing_game_per_block"] = per_block
    channel = record.stacked_channel()
    if channel:
        means = {}
        for block, gates in channel.items():
            class_mean, _, _ = class_means(gates, labels, len(names))
            means[block] = {
                n: None if np.isnan(row).all() else float(row.mean()) for n, row in zip(names, class_mean, strict=True)
            }
        result["mean_channel_gate"] = means
    return result, record


def evaluate(name: str, samples: int = 1000, seed: int | None = None) -> dict[str, Any]:
    """Score the shipped weights of embedded model ``name`` on fresh held-out data.

    ``seed`` defaults to one that neither training nor the card's evaluation used.
    """
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    recipe = get_recipe(name)
    spec = get_spec(name)
    model = create_model(name)
    seed = recipe.eval_seed + 7919 if seed is None else seed
    result, _ = evaluate_model(model, spec, recipe.data, samples, seed)
    return result
