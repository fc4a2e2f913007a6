"""The out-of-distribution score of an embedded model and its ``<name>.ood.json`` file: a training report.

Higher scores are further outside what the network learned. The score reads the pooled penultimate
features (``ResNet.global_pool`` / ``VideoResNet.avgpool``, named in the file) or the logits; the file holds
its parameters (fitted on generated data), the threshold for a stated false-alarm rate, the held-out
scores' quantiles and the measured separation from real photos and clips (``separates``). That measurement
found no score that tells real photos from the generated data reliably, so the app computes none: an input
gets the "outside what the network learned" notice unless it is one of the model's shipped generated
examples (``visualiser.models.embedded.generated_examples``). Numpy only.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
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


def read_calibration(name: str, folder: Path | None = None) -> OodCalibration | None:
    """Model ``name``'s stored calibration, or None when it has none (a damaged file names itself)."""
    path = (folder or MODELS_DIR) / f"{name}.ood.json"
    if not path.is_file():
        return None
    try:
        return calibration_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as e:
        raise WeightsError(
            f"{path.name} is damaged ({e}); regenerate it with `python -m tools.training ood {name}`"
        ) from e


def write_calibration(calibration: OodCalibration, folder: Path | None = None) -> Path:
    """Write ``<folder>/<model>.ood.json`` (default ``assets/models``) and return its path."""
    folder = Path(folder or MODELS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{calibration.model}.ood.json"
    path.write_text(json.dumps(calibration_to_json(calibration), indent=1) + "\n", encoding="utf-8")
    return path
