"""Fit and measure the out-of-distribution score of an embedded model; write ``<name>.ood.json``.

Three fresh generated streams (seeds that training, the card's evaluation and ``eval`` never used):
``fit`` gives the class means and shared covariance of the pooled features, ``calibration`` the
threshold (the score of a ``false_alarm`` share of its inputs lies above it) and the percentile table,
``test`` the false-alarm rate actually seen on data the threshold never saw and the in-distribution
side of every AUROC. The real side: photographs and clips (``ood_inputs``). Every candidate score is
computed through ``tools.training.ood_score`` from the float32 parameters as stored, so the figures
are those of the file written. The candidate kept is the one with the best threshold-free summary,
AUROC (ties: more real inputs flagged at the threshold); ``separates`` says whether even that one is
good enough to rely on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from tools.training.ood_inputs import (
    REAL_GROUPS,
    SHIPPED_REAL_GROUP,
    InputSet,
    batched,
    measurement_sets,
)
from tools.training.ood_score import OodCalibration, ood_scores, percentile_of, write_calibration
from tools.training.recipes import get_recipe
from tools.training.streams import class_names, generator_version, make_batch
from visualiser.capture.owned import OwnedHooks
from visualiser.errors import InputError
from visualiser.models.loading import create_model
from visualiser.models.registry import get_spec

logger = logging.getLogger(__name__)

CANDIDATES = ("msp", "energy", "mahalanobis", "relative_mahalanobis")
FALSE_ALARM = 0.01
RIDGE = 0.01  # added to the covariance's diagonal, times its mean variance (1e-4 .. 1e-1 moved AUROC by < 0.01)
QUANTILE_LEVELS = 201  # percentile table: every 0.5 %
BATCH = 100
SAMPLES = {
    "shapes": {"fit": 3000, "calibration": 1000, "test": 1000},
    "motion": {"fit": 2000, "calibration": 1000, "test": 1000},
}
# A score is relied on only if it separates held-out generated data from the real inputs this well,
# and flags every real input the project ships; otherwise the app shows its notice on every upload.
MIN_AUROC = 0.95
MIN_TRUE_POSITIVE = 0.9


def ood_seeds(name: str) -> dict[str, int]:
    """The streams of the measurement: offsets of the card's held-out seed that nothing else uses.

    Training uses seed 0, its probe ``eval_seed + 1``, the card ``eval_seed``, ``eval`` ``eval_seed + 7919``.
    """
    base = get_recipe(name).eval_seed
    return {"fit": base + 2 * 7919, "calibration": base + 3 * 7919, "test": base + 4 * 7919, "shifted": base + 5 * 7919}


def pool_layer_name(model: nn.Module) -> str:
    """The pooling module whose output is the penultimate feature vector (``global_pool`` 2-D, ``avgpool`` 3-D)."""
    for name in ("global_pool", "avgpool"):
        if isinstance(getattr(model, name, None), nn.Module):
            return name
    raise ValueError(f"{type(model).__name__} has no global_pool / avgpool layer")


@torch.no_grad()
def pooled_outputs(model: nn.Module, batches: Iterable[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) pooled features and (N, K) logits, both taken from the same forward passes."""
    model.eval()
    pool = getattr(model, pool_layer_name(model))
    grabbed: list[torch.Tensor] = []
    features, logits = [], []
    with OwnedHooks() as hooks:
        hooks.forward_hook(pool, lambda _m, _i, out: grabbed.append(out.flatten(1).detach().clone()))
        for x in batches:
            grabbed.clear()
            logits.append(model(x).float().numpy())
            features.append(grabbed[-1].float().numpy())
    return np.concatenate(features), np.concatenate(logits)


@dataclass(frozen=True)
class Outputs:
    """What the network gave for one group of inputs."""

    features: np.ndarray
    logits: np.ndarray
    labels: np.ndarray | None = None

    def values(self, calibration: OodCalibration) -> np.ndarray:
        return self.features if calibration.input == "features" else self.logits


def generated_outputs(model: nn.Module, name: str, seed: int, samples: int) -> Outputs:
    """Outputs on samples ``0 .. samples-1`` of generated stream ``seed`` at full clutter (as ``eval`` draws them)."""
    spec, kind = get_spec(name), get_recipe(name).data
    labels: list[np.ndarray] = []

    def batches() -> Iterable[torch.Tensor]:
        for start in range(0, samples, BATCH):
            b = make_batch(kind, seed, min(BATCH, samples - start), spec.preprocess, start=start)
            labels.append(b.labels.numpy())
            yield b.inputs

    features, logits = pooled_outputs(model, batches())
    return Outputs(features, logits, np.concatenate(labels))


def _whitener(centred: np.ndarray, ridge: float) -> np.ndarray:
    """Lower-triangular L with L Lᵀ = (Σ + ridge·mean variance·I)⁻¹, so ‖(x - μ) L‖² is the Mahalanobis distance."""
    cov = centred.T @ centred / len(centred)
    dims = cov.shape[0]
    cov = cov + ridge * np.trace(cov) / dims * np.eye(dims)
    return np.linalg.cholesky(np.linalg.inv(cov))


def _as_stored(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float32).astype(np.float64)  # what the file will hold, exactly


def fit_params(features: np.ndarray, labels: np.ndarray, classes: int, ridge: float = RIDGE) -> dict[str, np.ndarray]:
    """Class means with a shared covariance, and one Gaussian over everything (for the relative score)."""
    f = features.astype(np.float64)
    means = np.stack([f[labels == k].mean(0) for k in range(classes)])
    background = f.mean(0, keepdims=True)
    return {
        "means": _as_stored(means),
        "whitener": _as_stored(_whitener(f - means[labels], ridge)),
        "background_mean": _as_stored(background),
        "background_whitener": _as_stored(_whitener(f - background, ridge)),
    }


def calibrate(
    name: str, kind: str, layer: str, params: dict[str, np.ndarray], calibration: Outputs, false_alarm: float
) -> OodCalibration:
    """A calibration of score ``kind`` whose threshold and percentiles come from the ``calibration`` stream."""
    keep = {"mahalanobis": ("means", "whitener"), "relative_mahalanobis": tuple(params)}.get(kind, ())
    reads = layer if keep else "fc"  # the logits are the output of the classifier layer
    provisional = OodCalibration(
        name, kind, reads, np.inf, false_alarm, np.zeros(2), False, {k: params[k] for k in keep}
    )
    scores = ood_scores(calibration.values(provisional), provisional)
    threshold = float(np.quantile(scores, 1.0 - false_alarm))
    quantiles = np.quantile(scores, np.linspace(0.0, 1.0, QUANTILE_LEVELS))
    return replace(provisional, threshold=threshold, quantiles=quantiles)


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """Probability that an outside input scores higher than an inside one (ties count half): Mann-Whitney U."""
    _, inverse, counts = np.unique(np.concatenate([inside, outside]), return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    ranks = ((last - counts + 1 + last) / 2.0)[inverse]  # tied values share their mean rank
    n_in, n_out = len(inside), len(outside)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out))


def fit_model_calibrations(
    name: str, false_alarm: float = FALSE_ALARM, model: nn.Module | None = None
) -> tuple[dict[str, OodCalibration], dict[str, Outputs], nn.Module]:
    """Every candidate's calibration from the fit and calibration streams, plus the generated outputs."""
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    recipe, seeds = get_recipe(name), ood_seeds(name)
    model = model or create_model(name)
    counts = SAMPLES[recipe.data]
    generated = {
        part: generated_outputs(model, name, seeds[part], counts[part]) for part in ("fit", "calibration", "test")
    }
    fit = generated["fit"]
    params = fit_params(fit.features, fit.labels, len(class_names(recipe.data)))
    layer = pool_layer_name(model)
    calibrations = {k: calibrate(name, k, layer, params, generated["calibration"], false_alarm) for k in CANDIDATES}
    return calibrations, generated, model


def _item(calibration: OodCalibration, score: float) -> dict[str, Any]:
    return {
        "score": round(score, 4),
        "percentile": round(percentile_of(score, calibration.quantiles), 2),
        "outside": bool(score > calibration.threshold),
    }


Scored = dict[str, tuple[InputSet, np.ndarray]]
OTHER_RATES = (0.01, 0.05, 0.1, 0.2)  # false-alarm rates the separation is also reported at


def _threshold_at(calibration: OodCalibration, false_alarm: float) -> float:
    """The calibration stream's ``1 - false_alarm`` quantile, read off the stored table."""
    levels = np.linspace(0.0, 1.0, len(calibration.quantiles))
    return float(np.interp(1.0 - false_alarm, levels, calibration.quantiles))


def _figures(calibration: OodCalibration, inside: np.ndarray, scored: Scored, task: str) -> dict[str, Any]:
    real = [scored[g] for g in REAL_GROUPS[task] if g in scored]
    real_all = np.concatenate([v for _, v in real])
    real_files = np.concatenate([v[np.array(s.app_view)] for s, v in real])
    shipped_set, shipped_scores = scored[SHIPPED_REAL_GROUP[task]]
    shipped = shipped_scores[np.array(shipped_set.app_view)]
    th = calibration.threshold
    return {
        "auroc": round(auroc(inside, real_all), 4),
        "auroc_whole_files": round(auroc(inside, real_files), 4),
        "true_positive_rate": round(float((real_all > th).mean()), 4),
        "true_positive_rate_whole_files": round(float((real_files > th).mean()), 4),
        "false_alarm_rate_test": round(float((inside > th).mean()), 4),
        "true_positive_rate_whole_files_at": {
            f"{rate:g}": round(float((real_files > _threshold_at(calibration, rate)).mean()), 4) for rate in OTHER_RATES
        },
        "shipped_real_flagged": int((shipped > th).sum()),
        "shipped_real_count": len(shipped),
        "groups": {g: {"count": len(v), "flagged": int((v > th).sum())} for g, (_, v) in scored.items()},
    }


def measure(name: str, false_alarm: float = FALSE_ALARM) -> tuple[OodCalibration, dict[str, Any]]:
    """Fit every candidate, measure each on the real and synthetic sets, keep the best; returns it and the table."""
    calibrations, generated, model = fit_model_calibrations(name, false_alarm)
    spec, recipe, seeds = get_spec(name), get_recipe(name), ood_seeds(name)
    input_sets, sources = measurement_sets(spec.task, spec.preprocess, seeds["shifted"])
    sets = [(s, Outputs(*pooled_outputs(model, batched(s.inputs, BATCH)))) for s in input_sets if s.names]
    scored: dict[str, Scored] = {}
    table: dict[str, dict[str, Any]] = {}
    for kind, c in calibrations.items():
        scored[kind] = {s.group: (s, ood_scores(out.values(c), c)) for s, out in sets}
        table[kind] = _figures(c, ood_scores(generated["test"].values(c), c), scored[kind], spec.task)
    chosen = max(CANDIDATES, key=lambda k: (table[k]["auroc"], table[k]["true_positive_rate"]))
    best, figures = calibrations[chosen], table[chosen]
    separates = (
        figures["auroc"] >= MIN_AUROC
        and figures["true_positive_rate_whole_files"] >= MIN_TRUE_POSITIVE
        and figures["shipped_real_flagged"] == figures["shipped_real_count"]
    )
    per_item = {}
    for group, (s, scores) in scored[chosen].items():
        if not group.startswith("shifted"):  # those are summed up in "groups"
            per_item[group] = {
                n: _item(best, float(v)) for n, v, app in zip(s.names, scores, s.app_view, strict=True) if app
            }
    candidates = {k: {f: v for f, v in t.items() if f != "groups"} for k, t in table.items()}
    report = {
        "decision": _decision(separates, figures, spec.task),
        "data": {
            "generator_version": generator_version(recipe.data),
            "seeds": seeds,
            "samples": SAMPLES[recipe.data],
            "ridge": RIDGE,
            "clutter": 1.0,
        },
        "separation": {
            **figures,
            "criteria": {"min_auroc": MIN_AUROC, "min_true_positive_rate_whole_files": MIN_TRUE_POSITIVE},
            "candidates": candidates,
            "items": per_item,
        },
        "sources": [{"group": f.group, "name": f.name, "sha256": f.sha256[:16]} for f in sources],
        "fitted": dt.date.today().isoformat(),
        "software": {"torch": torch.__version__, "numpy": np.__version__},
    }
    return replace(best, separates=separates, report=report), table


def _decision(separates: bool, f: dict[str, Any], task: str) -> str:
    what = "photos" if task == "image" else "real clips and camera moves over photos"
    if separates:
        return f"rely on the score: it flags {100 * f['true_positive_rate_whole_files']:.0f} % of {what}"
    return (
        f"show the notice on every upload: at the threshold the score flags only "
        f"{100 * f['true_positive_rate_whole_files']:.0f} % of {what} (AUROC {f['auroc']:.3f}), "
        f"{f['shipped_real_flagged']} of the {f['shipped_real_count']} shipped ones"
    )


def fit_ood(name: str, false_alarm: float = FALSE_ALARM, out_dir: Path | None = None) -> tuple[OodCalibration, Path]:
    """Measure, choose and write model ``name``'s calibration."""
    if not 0.0 < false_alarm <= 0.5:
        raise InputError(f"the false-alarm rate must lie in (0, 0.5]; got {false_alarm}")
    calibration, _ = measure(name, false_alarm)
    path = write_calibration(calibration, out_dir)
    logger.info("wrote %s", path)
    return calibration, path
