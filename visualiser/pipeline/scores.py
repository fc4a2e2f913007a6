"""What the figures and bundles print beside a result's gates, computed here once for both front ends.

The CLI's figures and the app's views and bundle take these from the pipeline and only draw them: the
model's reference statistics (the SE paper's Fig. 6), and the scores measured on the result (Grad-CAM and
squeeze against gate for an image, frame-to-frame stability for a clip).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from visualiser.analysis.agreement import image_agreement, squeeze_gate_spearman
from visualiser.analysis.stability import stability_scores
from visualiser.models.weights.cache import cache_dir
from visualiser.paths import stats_path
from visualiser.reference_stats import ReferenceStats, load_reference_stats
from visualiser.result import BlockAttention, ClipResult, ImageResult
from visualiser.scores import ImageAgreement, StabilityScores


@dataclass(frozen=True)
class ResultScores:
    """Everything a result's figures print beyond the result itself."""

    reference: ReferenceStats | None = None  # image results of a model whose class means were computed here
    agreement: ImageAgreement | None = None  # image results: Grad-CAM against each spatial gate, squeeze vs gate
    stability: StabilityScores | None = None  # clip results: frame-to-frame agreement of every block's gates


def user_stats_path(model: str) -> Path:
    """Where ``python -m visualiser stats ... --install`` puts a model's statistics: the user's cache."""
    return cache_dir() / "stats" / f"{model}.stats.npz"


def reference_stats(model: str) -> ReferenceStats | None:
    """The model's class-mean channel gates (``<model>.stats.npz``), or None when none were computed here.

    Statistics a user computed and installed come first, then the ones shipped with the package.
    """
    for path in (user_stats_path(model), stats_path(model)):
        if path.is_file():
            return load_reference_stats(path)
    return None


def result_scores(result: ImageResult | ClipResult) -> ResultScores:
    """The reference statistics and the scores the figures of ``result`` print."""
    if isinstance(result, ClipResult):
        return ResultScores(stability=stability_scores(result))
    return ResultScores(reference=reference_stats(result.model), agreement=image_agreement(result))


def block_squeeze_gate(block: BlockAttention) -> float | None:
    """Spearman of one block's squeeze against its gate (what its internals figure prints; None when constant)."""
    return squeeze_gate_spearman(block)
