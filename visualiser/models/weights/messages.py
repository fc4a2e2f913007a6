"""What a user reads when weights are not here: where the file is, how to check it, the command that installs it.

The offline sentence names the file (its URL, or hub repo and file name), its checksum, and
``python -m visualiser fetch NAME --from path/to/FILE``, so someone behind a firewall can fetch the file on
another machine and bring it over by hand. The error carries the model's name and the reason apart from the
sentence (``WeightsUnavailableError``), so a front end can say it in one short line and fold the rest away.

A host that could not be reached is remembered for ``OFFLINE_MEMORY_S`` (``remember_unreachable``): the next
request fails at once with the same reason instead of waiting for the network again.
"""

from __future__ import annotations

import threading
import time
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


class WeightsUnavailableError(WeightsError):
    """Weights that are not on this machine and cannot be fetched now; ``model`` and ``reason`` stand apart."""

    def __init__(self, message: str, model: str, reason: str) -> None:
        super().__init__(message)
        self.model = model
        self.reason = reason


def unavailable(spec: ModelSpec, where: str, reason: str) -> WeightsUnavailableError:
    """The error for weights that are absent and cannot be fetched, with every way to get them."""
    return WeightsUnavailableError(
        f"weights for {spec.name!r} are not on this machine and could not be downloaded from {where} ({reason}). "
        f"Run `python -m visualiser fetch {spec.name}` where there is internet; or, {by_hand(spec, where)}; "
        "or use an embedded model.",
        model=spec.name,
        reason=reason,
    )


OFFLINE_MEMORY_S = 600.0  # how long a host that could not be reached counts as unreachable without a new try
_UNREACHABLE: dict[str, tuple[float, str]] = {}  # host -> (monotonic time of the failure, its reason)
_LOCK = threading.Lock()


def remember_unreachable(host: str, reason: str) -> None:
    """Remember that ``host`` could not be reached (for ``OFFLINE_MEMORY_S``), with the reason to repeat."""
    with _LOCK:
        _UNREACHABLE[host] = (time.monotonic(), reason)


def unreachable_reason(host: str) -> str | None:
    """Why ``host`` is known to be unreachable right now, or None (never tried, or long enough ago)."""
    with _LOCK:
        seen = _UNREACHABLE.get(host)
        if seen is None:
            return None
        when, reason = seen
        if time.monotonic() - when > OFFLINE_MEMORY_S:
            del _UNREACHABLE[host]
            return None
        return f"{reason}; not tried again for {OFFLINE_MEMORY_S / 60:.0f} min"


def forget_unreachable() -> None:
    """Forget every remembered failure (tests; a machine that just came online)."""
    with _LOCK:
        _UNREACHABLE.clear()


def short_reason(error: BaseException) -> str:
    """The first line of an error, at most 200 characters (a URLError's underlying reason, not its wrapper)."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        error = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
    text = str(error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= 200 else first[:197] + "..."
