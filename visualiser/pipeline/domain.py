"""How far an input lies from what an embedded network learned, from the same forward pass as its gates.

Models with an out-of-distribution calibration (``assets/models/<name>.ood.json``, written by
``python -m visualiser.training ood``) name the layer whose output their score reads; the pipeline keeps
that layer's output during the recorded pass, and turns it into a ``DomainCheck`` for each element.
"""

from __future__ import annotations

from visualiser.analysis.forward import ForwardRecord
from visualiser.analysis.ood import OodCalibration, load_ood_calibration, ood_verdict
from visualiser.pipeline.models import LoadedModel
from visualiser.result import DomainCheck


def calibration(loaded: LoadedModel) -> OodCalibration | None:
    """The model's calibration; None for a user's network or a model without one (ImageNet, Kinetics)."""
    if loaded.foreign is not None:
        return None
    return load_ood_calibration(loaded.spec.name)


def domain_layers(loaded: LoadedModel) -> tuple[str, ...]:
    """The layers the recorded pass must keep for the check (none without a calibration)."""
    found = calibration(loaded)
    return () if found is None else (found.layer,)


def domain_check(loaded: LoadedModel, record: ForwardRecord, index: int) -> DomainCheck | None:
    """Element ``index``'s score against the calibration, from the features kept during that pass."""
    found = calibration(loaded)
    values = None if found is None else record.kept.get(found.layer)
    if found is None or values is None:
        return None
    verdict = ood_verdict(values[index], found)
    return DomainCheck(
        score=verdict.score,
        threshold=verdict.threshold,
        false_alarm_rate=found.false_alarm_rate,
        percentile=verdict.percentile,
        outside=verdict.outside,
        reliable=verdict.reliable,
        method=verdict.kind,
    )
