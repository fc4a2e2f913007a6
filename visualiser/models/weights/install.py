"""``install_weights``: put a weights file brought over by hand where ``fetch_weights`` looks for it.

For machines without internet: ``python -m visualiser fetch NAME --from path/to/FILE``. The file is copied into a
temporary beside its destination (the inner ``.pth`` when an imgclsmob ``.zip`` is given as downloaded), and
that copy (exactly what will be installed) must pass two checks before one rename puts it in place:

* the spec's checksum (SHA-1, or a SHA-256 or its prefix), where it has one (URL entries);
* a strict load: read it, remap its keys, and load every tensor into the freshly built architecture (all keys,
  no extras, equal shapes); for hub entries, which publish no checksum, this is the check that matters.

A file that fails either is refused with the reason, and nothing is installed.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from visualiser.errors import WeightsError
from visualiser.models.checkpoints import CATALOGUE_MAX_BYTES, read_checkpoint
from visualiser.models.registry import ModelSpec
from visualiser.models.weights.cache import (
    checksum_matches,
    checksum_mismatch,
    describe_checksum,
    install,
    installed_hub_path,
    staging,
)
from visualiser.models.weights.messages import download_name, download_url
from visualiser.models.weights.remap import remap_state_dict
from visualiser.models.weights.strict import load_into
from visualiser.models.weights.url import cached_url_path, unzip_member


@dataclass(frozen=True)
class Installed:
    """Where the file went, and the checks it passed (for the CLI to print)."""

    path: Path
    checks: tuple[str, ...]


def install_weights(spec: ModelSpec, brought: Path) -> Installed:
    """Verify ``brought`` as ``spec``'s weights and install it into the cache the app reads.

    Raises ``WeightsError`` (nothing installed) when the file is missing, is not a valid archive, does not match
    the checksum, cannot be read, or does not load strictly into the architecture.
    """
    source = spec.weights
    if source.kind == "none":
        raise WeightsError(f"model {spec.name!r} has no pretrained weights to install")
    if source.kind == "embedded":
        raise WeightsError(f"the weights of {spec.name!r} ship with the project (assets/{source.location})")
    if not brought.is_file():
        raise WeightsError(f"{brought}: no such file")
    target = installed_hub_path(source) if source.kind == "hub" else cached_url_path(spec)
    refused = f"{brought} was not installed as the weights of {spec.name!r}"
    with staging(target) as temporary:
        payload = temporary(".incoming" + target.suffix)
        _copy_payload(spec, brought, target.name, payload, refused)
        checks: list[str] = []
        if source.checksum:
            if not checksum_matches(payload, source.checksum):
                raise WeightsError(
                    f"{refused}: it is not the published file ({checksum_mismatch(payload, source.checksum)}); "
                    f"download {download_name(spec)} from {download_url(spec)}"
                )
            checks.append(f"{describe_checksum(source.checksum)} matches")
        tensors = _load_strictly(spec, payload, brought, refused)
        checks.append(f"all {tensors} tensors load strictly into {spec.title}")
        return Installed(install(payload, target, source.checksum), tuple(checks))


def _copy_payload(spec: ModelSpec, brought: Path, member: str, payload: Path, refused: str) -> None:
    """The weights themselves into ``payload``: unzipped for a zip entry given as downloaded, else copied."""
    if spec.weights.archive == "zip" and brought.name.lower().endswith(".zip"):
        try:
            unzip_member(brought, member, payload)
        except (zipfile.BadZipFile, OSError) as e:
            raise WeightsError(f"{refused}: it is not a valid zip archive ({e})") from e
        except WeightsError as e:
            raise WeightsError(f"{refused}: {e}") from e
        return
    try:
        shutil.copyfile(brought, payload)
    except OSError as e:
        raise WeightsError(f"{refused}: it cannot be copied ({e.strerror or e})") from e


def _load_strictly(spec: ModelSpec, payload: Path, brought: Path, refused: str) -> int:
    """Read, remap and load every tensor into a fresh ``spec.builder()``; the number of tensors loaded."""
    try:
        tensors = read_checkpoint(payload, limit=CATALOGUE_MAX_BYTES, shown=str(brought))
        state = remap_state_dict(tensors, spec.weights.key_map)
        load_into(spec.builder(), state, brought.name)
    except WeightsError as e:
        raise WeightsError(f"{refused}: {e}") from e
    return len(state)
