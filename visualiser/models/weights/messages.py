"""What a user reads when weights are not here: where the file is, how to check it, the command that installs it.

The offline sentence names the file (its URL, or hub repo and file name), its checksum, and
``python -m visualiser fetch NAME --from path/to/FILE``, so someone behind a firewall can fetch the file on
another machine and bring it over by hand.
"""

from __future__ import annotations

import urllib.error

from huggingface_hub import hf_hub_url

from visualiser.errors import WeightsError
from visualiser.models.registry import ModelSpec
from visualiser.models.weights.cache import describe_checksum, hub_filename


def download_url(spec: ModelSpec) -> str:
    """The address a browser or ``curl`` downloads ``spec``'s weights from."""
    source = spec.weights
    if source.kind == "hub":
        return hf_hub_url(source.location, hub_filename(source))
    return source.location


def download_name(spec: ModelSpec) -> str:
    """The file name that download arrives under (the zip itself for imgclsmob)."""
    source = spec.weights
    if source.kind == "hub":
        return hub_filename(source).rsplit("/", 1)[-1]
    return source.location.rstrip("/").rsplit("/", 1)[-1]


def how_it_is_checked(spec: ModelSpec) -> str:
    """The checksum a brought file must match, or, without one, what stands in for it."""
    checksum = spec.weights.checksum
    if checksum:
        inner = " of the .pth inside the zip" if spec.weights.archive == "zip" else ""
        return describe_checksum(checksum) + inner
    return "no published checksum: it is checked by loading it strictly into the network"


def by_hand(spec: ModelSpec, named_url: str | None = None) -> str:
    """How to bring the file over and install it (the URL is left out when the sentence has just named it)."""
    name, url = download_name(spec), download_url(spec)
    what = (
        f"that file ({name}, {how_it_is_checked(spec)})"
        if url == named_url
        else f"{name} ({how_it_is_checked(spec)}) from {url}"
    )
    return (
        f"to install it by hand, download {what} on a machine with internet, bring it here and run "
        f"`python -m visualiser fetch {spec.name} --from path/to/{name}`"
    )


def unavailable(spec: ModelSpec, where: str, reason: str) -> WeightsError:
    """The error for weights that are absent and cannot be fetched, with every way to get them."""
    return WeightsError(
        f"weights for {spec.name!r} are not on this machine and could not be downloaded from {where} ({reason}). "
        f"Run `python -m visualiser fetch {spec.name}` where there is internet; or, {by_hand(spec, where)}; "
        "or use an embedded model."
    )


def short_reason(error: BaseException) -> str:
    """The first line of an error, at most 200 characters (a URLError's underlying reason, not its wrapper)."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= 200 else first[:197] + "..."
