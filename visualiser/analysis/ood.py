"""How far an input lies from what an embedded network learned: a calibrated out-of-distribution score.

Numpy only, so it costs microseconds on top of the forward pass whose output it reads: the pooled
penultimate features (a forward hook on ``ResNet.global_pool`` / ``VideoResNet.avgpool``; the layer is
named in the calibration) or the logits. Higher scores are further outside. A calibration file
``assets/models/<name>.ood.json`` (written by ``python -m visualiser.training ood NAME``) holds the
score's parameters, fitted on generated training-distribution data, the threshold that gives a stated
false-alarm rate on held-out generated data, the held-out scores' quantiles (for a percentile), and
the measured separation from real photos and clips. ``separates`` records whether that measurement
showed the score can be trusted to tell them apart; when it is false, a front end should treat every
upload as possibly outside (``OodVerdict.show_notice``).
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from visualiser.errors import WeightsError
from visualiser.paths import MODELS_DIR

ScoreKind = Literal["msp", "energy", "mahalanobis", "relative_mahalanobis"]
SCORE_INPUTS: dict[str, str] = {
    "msp": "logits",
    "energy": "logits",
    "mahalanobis": "features",
    "relative_mahalanobis": "features",
}
FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, eq=False)
class OodCalibration:
    """One model's score: how to compute it, where its threshold lies, and how well it separated."""

    model: str
    kind: ScoreKind
    layer: str  # the module whose output the score reads ("fc" stands for the logits)
    threshold: float
    false_alarm_rate: float  # share of held-out generated inputs at or above the threshold, by construction
    quantiles: np.ndarray  # (Q,) held-out generated scores at evenly spaced levels from 0 to 100 %
    separates: bool  # whether the measured separation from real photos / clips was good enough to rely on
    params: dict[str, np.ndarray] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)  # measured figures, seeds and dates, as stored
    derived: dict[str, np.ndarray] = field(init=False, repr=False)  # whitened class means, computed once

    def __post_init__(self) -> None:
        if self.kind not in SCORE_INPUTS:
            raise ValueError(f"unknown OOD score kind {self.kind!r}")
        p, derived = self.params, {}
        if "means" in p:
            derived["means_white"] = p["means"] @ p["whitener"]
        if "background_mean" in p:
            derived["background_white"] = p["background_mean"] @ p["background_whitener"]
        object.__setattr__(self, "derived", derived)

    @property
    def input(self) -> str:
        """``"features"`` (pooled penultimate activations) or ``"logits"``."""
        return SCORE_INPUTS[self.kind]

    @property
    def dims(self) -> int:
        """Length of the vector the score reads."""
        return int(self.params["means"].shape[1]) if "means" in self.params else int(self.report.get("dims", 0))


@dataclass(frozen=True)
class OodVerdict:
    """The score of one input against a model's calibration, in plain types."""

    score: float
    threshold: float
    outside: bool  # score above the threshold set for the calibration's false-alarm rate
    percentile: float  # share (0-100) of held-out generated inputs that scored lower
    kind: str
    reliable: bool  # the calibration's ``separates``: whether ``outside`` was shown to tell photos apart

    @property
    def show_notice(self) -> bool:
        """Whether to say the input may be outside what the network learned (always, if the score is unreliable)."""
        return self.outside or not self.reliable


# --- scoring ------------------------------------------------------------------------------------------


def _logsumexp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))[:, 0]


def _min_class_distance(values: np.ndarray, whitener: np.ndarray, means_white: np.ndarray) -> np.ndarray:
    z = values @ whitener  # (N, D): Mahalanobis distance becomes Euclidean after whitening
    d2 = (z * z).sum(1, keepdims=True) - 2.0 * z @ means_white.T + (means_white * means_white).sum(1)[None]
    return np.maximum(d2.min(axis=1), 0.0)


def ood_scores(values: np.ndarray, calibration: OodCalibration) -> np.ndarray:
    """Scores of a batch: ``values`` (N, D) features or (N, K) logits, as the calibration's ``input`` says."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    x = x.reshape(x.shape[0], -1)
    if calibration.kind in ("msp", "energy"):
        lse = _logsumexp(x)
        if calibration.kind == "energy":
            return -lse
        return 1.0 - np.exp(x.max(axis=1) - lse)
    p, derived = calibration.params, calibration.derived
    if x.shape[1] != p["whitener"].shape[0]:
        raise ValueError(f"{calibration.model}'s OOD score reads {p['whitener'].shape[0]} features, got {x.shape[1]}")
    score = _min_class_distance(x, p["whitener"], derived["means_white"])
    if calibration.kind == "relative_mahalanobis":
        score = score - _min_class_distance(x, p["background_whitener"], derived["background_white"])
    return score


def percentile_of(score: float, quantiles: np.ndarray) -> float:
    """Share (0-100) of the held-out generated scores below ``score``, read off the stored quantiles."""
    levels = np.linspace(0.0, 100.0, len(quantiles))
    return float(np.interp(score, quantiles, levels, left=0.0, right=100.0))


def ood_verdict(features_or_logits: np.ndarray, calibration: OodCalibration) -> OodVerdict:
    """The verdict for one input (a (D,) or (1, D) vector of what the calibration's ``input`` names)."""
    values = np.asarray(features_or_logits)
    if values.ndim > 1 and values.reshape(values.shape[0], -1).shape[0] != 1:
        raise ValueError("ood_verdict scores one input; use ood_scores for a batch")
    score = float(ood_scores(values, calibration)[0])
    return OodVerdict(
        score=score,
        threshold=float(calibration.threshold),
        outside=bool(score > calibration.threshold),
        percentile=percentile_of(score, calibration.quantiles),
        kind=calibration.kind,
        reliable=bool(calibration.separates),
    )


# --- storage ------------------------------------------------------------------------------------------


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """A float32 array as JSON: shape and little-endian bytes in base64 (exact and a third the size of text)."""
    a = np.ascontiguousarray(array, dtype="<f4")
    return {"dtype": "float32", "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_array(blob: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_array` (as float64, the precision the score is computed in)."""
    raw = np.frombuffer(base64.b64decode(blob["base64"]), dtype="<f4")
    return raw.reshape([int(n) for n in blob["shape"]]).astype(np.float64)


def pack_lower(matrix: np.ndarray) -> np.ndarray:
    """The lower triangle of a square matrix, row by row (the whitener is lower-triangular)."""
    return matrix[np.tril_indices(matrix.shape[0])]


def unpack_lower(packed: np.ndarray, dims: int) -> np.ndarray:
    """Inverse of :func:`pack_lower`."""
    out = np.zeros((dims, dims), dtype=np.float64)
    out[np.tril_indices(dims)] = packed
    return out


def calibration_to_json(calibration: OodCalibration) -> dict[str, Any]:
    """The calibration as the ``.ood.json`` file stores it."""
    params: dict[str, Any] = {}
    for key, value in calibration.params.items():
        params[key] = encode_array(pack_lower(value) if key.endswith("whitener") else value)
    return {
        "format": FORMAT_VERSION,
        "model": calibration.model,
        "kind": calibration.kind,
        "input": calibration.input,
        "layer": calibration.layer,
        "threshold": calibration.threshold,
        "false_alarm_rate": calibration.false_alarm_rate,
        "separates": calibration.separates,
        "quantiles": [float(q) for q in calibration.quantiles],
        "params": params,
        **calibration.report,
    }


def calibration_from_json(data: dict[str, Any]) -> OodCalibration:
    """Parse a ``.ood.json`` document (KeyError / ValueError on a malformed one)."""
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported OOD calibration format {data.get('format')!r}")
    params = {}
    for key, blob in data.get("params", {}).items():
        array = decode_array(blob)
        if key.endswith("whitener"):
            dims = (math.isqrt(8 * array.size + 1) - 1) // 2
            if dims * (dims + 1) // 2 != array.size:
                raise ValueError(f"{key} is not a packed triangle ({array.size} values)")
            array = unpack_lower(array, dims)
        params[key] = array
    own = {"format", "model", "kind", "input", "layer", "threshold", "false_alarm_rate", "separates", "quantiles"}
    return OodCalibration(
        model=str(data["model"]),
        kind=data["kind"],
        layer=str(data["layer"]),
        threshold=float(data["threshold"]),
        false_alarm_rate=float(data["false_alarm_rate"]),
        quantiles=np.asarray(data["quantiles"], dtype=np.float64),
        separates=bool(data["separates"]),
        params=params,
        report={k: v for k, v in data.items() if k not in own and k != "params"},
    )


def calibration_path(name: str) -> Path:
    """Where a model's calibration lives."""
    return MODELS_DIR / f"{name}.ood.json"


@lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int) -> OodCalibration:
    try:
        return calibration_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as e:
        raise WeightsError(
            f"{path.name} is damaged ({e}); regenerate it with `python -m visualiser.training ood {path.stem[:-4]}`"
        ) from e


def load_ood_calibration(name: str, folder: Path | None = None) -> OodCalibration | None:
    """The model's OOD calibration, or ``None`` for a model without one (read once, then cached)."""
    if not _NAME.match(name):
        return None
    path = (folder or MODELS_DIR) / f"{name}.ood.json"
    if not path.is_file():
        return None
    return _load(path, path.stat().st_mtime_ns)
