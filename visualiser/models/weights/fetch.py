"""``fetch_weights``: a local, verified path to a model's weights, from wherever they live.

Three places (``WeightsSource.kind``): ``embedded`` files under ``assets/`` shipped with the project; ``hub``
files through ``huggingface_hub`` (see ``hub``); ``url`` downloads into our cache, checked against a SHA-1 /
SHA-256 (prefix) checksum (see ``url``). A file already here is found without network and, once stamped as
verified, without hashing; only a real download reports progress.
"""

from __future__ import annotations

from pathlib import Path

from visualiser.errors import WeightsError
from visualiser.models.registry import ModelSpec
from visualiser.models.weights.cache import checksum_matches
from visualiser.models.weights.hub import cached_hub_path, fetch_hub
from visualiser.models.weights.progress import resolve
from visualiser.models.weights.url import cached_url_path, fetch_url
from visualiser.paths import ASSETS_DIR
from visualiser.types import ProgressFn


def fetch_weights(spec: ModelSpec, allow_download: bool = True, progress: ProgressFn | None = None) -> Path:
    """A local, verified path to ``spec``'s weights, downloading them first if needed and allowed.

    ``progress`` hears ``(fraction, "downloading NAME weights: 12.5 of 112.5 MB")`` during a download (the
    default is the one ``progress.reporting_downloads`` set, if any); it is not called when the file is here.
    """
    source = spec.weights
    if source.kind == "none":
        raise WeightsError(f"model {spec.name!r} has no pretrained weights")
    if source.kind == "embedded":
        path = ASSETS_DIR / source.location
        if not path.is_file():
            raise WeightsError(
                f"the embedded weights of {spec.name!r} ({path}) are missing; reinstall the project or "
                f"retrain them in the repository: `python -m tools.training train {spec.name}`"
            )
        if not checksum_matches(path, source.checksum):
            raise WeightsError(f"the embedded weights of {spec.name!r} ({path}) do not match their checksum")
        return path
    if source.kind == "hub":
        path = fetch_hub(spec, allow_download, resolve(progress))
        if not checksum_matches(path, source.checksum):
            raise WeightsError(
                f"the weights of {spec.name!r} at {path} do not match their checksum; delete them and fetch again"
            )
        return path
    if source.kind == "url":
        return fetch_url(spec, allow_download, resolve(progress))
    raise ValueError(f"unknown weights kind {source.kind!r}")


def weights_available(spec: ModelSpec) -> bool:
    """Whether the weights are on this machine already (a cheap look, without hashing or network)."""
    source = spec.weights
    if source.kind == "none":
        return True
    if source.kind == "embedded":
        return (ASSETS_DIR / source.location).is_file()
    if source.kind == "hub":
        return cached_hub_path(spec) is not None
    if source.kind == "url":
        target = cached_url_path(spec)
        return target.is_file() and target.stat().st_size > 0
    return False
