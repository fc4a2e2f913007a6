"""Hugging Face hub weights: a hand-installed copy, else the hub's own cache, else a download through the hub.

Downloads go through ``huggingface_hub.hf_hub_download`` so they land in the hub's cache (shared with timm and
everything else that uses it) and honour ``HF_HOME``, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``, tokens and Xet.
Progress: versions whose ``hf_hub_download`` takes a ``tqdm_class`` (2.x; not 0.30–1.0) are handed a bar class
that draws nothing and forwards the bytes written to our ``DownloadProgress``; older versions report the start
and the end only. A second use finds the file with ``local_files_only=True``: no network, no hashing.

Offline, failing must be quick: ``HF_HUB_OFFLINE`` refuses at once, and otherwise one HEAD request without
retries (``PROBE_TIMEOUT_S``) comes first, because ``hf_hub_download`` itself retries a failed connection with
back-off (about 24 s). A connection that failed is remembered for the process (``messages.remember_unreachable``),
so the next request says so at once; ``hub_reachable`` tells the UI before anyone clicks.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from huggingface_hub import constants, get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError
from tqdm import tqdm

from visualiser.models.registry import ModelSpec
from visualiser.models.weights.cache import hub_filename, installed_hub_path
from visualiser.models.weights.messages import remember_unreachable, short_reason, unavailable, unreachable_reason
from visualiser.models.weights.progress import MB, DownloadProgress
from visualiser.types import ProgressFn

PROBE_TIMEOUT_S = 5.0  # the one HEAD request before a download: enough for a slow link, short for a dead one


def hub_page(spec: ModelSpec) -> str:
    """The repo's page, named in messages."""
    return f"https://huggingface.co/{spec.weights.location}"


def cached_hub_path(spec: ModelSpec) -> Path | None:
    """The file if it is on this machine (installed by hand, or in the hub's cache), without network or hashing."""
    installed = installed_hub_path(spec.weights)
    if installed.is_file():
        return installed
    found = try_to_load_from_cache(spec.weights.location, hub_filename(spec.weights))
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def fetch_hub(spec: ModelSpec, allow_download: bool, progress: ProgressFn | None) -> Path:
    """A local path to ``spec``'s hub file, downloading it when absent, allowed and not offline."""
    source = spec.weights
    filename = hub_filename(source)
    installed = installed_hub_path(source)
    if installed.is_file():
        return installed
    try:
        return Path(hf_hub_download(source.location, filename, local_files_only=True))
    except LocalEntryNotFoundError:
        pass
    if not allow_download:
        raise unavailable(spec, hub_page(spec), "downloads are turned off")
    reason = offline_reason()
    if reason is not None:
        raise unavailable(spec, hub_page(spec), reason)
    probe(spec)
    counter = DownloadProgress(progress, f"{spec.name} weights", int(source.size_mb * MB))
    try:
        return download_with_progress(hf_hub_download, source.location, filename, counter)
    except _hub_errors() as e:
        raise unavailable(spec, hub_page(spec), short_reason(e)) from e


def hub_host() -> str:
    """The host the hub's files come from (``HF_ENDPOINT`` or huggingface.co)."""
    return urlsplit(constants.HUGGINGFACE_CO_URL_TEMPLATE).netloc or constants.ENDPOINT


def offline_reason() -> str | None:
    """Why no hub download can happen now (``HF_HUB_OFFLINE``, or a failed connection remembered), else None."""
    offline_env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    if getattr(constants, "HF_HUB_OFFLINE", False) or offline_env:
        return "HF_HUB_OFFLINE is set and the file is not in the Hugging Face cache"
    return unreachable_reason(hub_host())


def hub_reachable() -> bool:
    """Whether a hub download may be tried now (not offline, no connection failure remembered); no network."""
    return offline_reason() is None


def probe(spec: ModelSpec) -> None:
    """One HEAD request for the file, without retries: a dead connection fails here in seconds and is remembered.

    An HTTP answer (the file or repo is missing, access denied) is not a connection failure: it is raised as the
    reason the weights are unavailable, and the host is not marked unreachable.
    """
    url = hf_hub_url(spec.weights.location, hub_filename(spec.weights))
    try:
        get_hf_file_metadata(url, timeout=PROBE_TIMEOUT_S)
    except HfHubHTTPError as e:
        raise unavailable(spec, hub_page(spec), short_reason(e)) from e
    except _hub_errors() as e:
        reason = f"the hub could not be reached: {short_reason(e)}"
        remember_unreachable(hub_host(), reason)
        raise unavailable(spec, hub_page(spec), reason) from e


def download_with_progress(download: Callable[..., str], repo: str, filename: str, counter: DownloadProgress) -> Path:
    """``download(repo, filename)`` (``hf_hub_download``) with its byte count forwarded to ``counter``."""
    if "tqdm_class" in inspect.signature(download).parameters:
        path = Path(download(repo, filename, tqdm_class=counting_bar(counter)))
    else:
        counter.update(0)
        path = Path(download(repo, filename))
    counter.finish(path.stat().st_size)
    return path


def counting_bar(counter: DownloadProgress) -> type[tqdm]:
    """A tqdm class for ``tqdm_class=``: it never draws, and every ``update`` moves ``counter``.

    The hub may create more than one bar for a file (retries reuse one; Xet shares one when the class has
    ``update_transfer``); each counts the bytes written, and ``counter`` keeps the largest, so it never goes back.
    """

    class CountingBar(tqdm):
        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs.pop("name", None)  # the hub's own name for its bar; plain tqdm rejects it
            kwargs["disable"] = True  # nothing drawn: our ProgressFn is the display
            super().__init__(*args, **kwargs)
            self.n = int(kwargs.get("initial", 0) or 0)
            self._forward()

        def update(self, n: float | None = 1) -> bool | None:
            self.n += int(n or 0)
            self._forward()
            return None

        def update_transfer(self, n: float | None = 1) -> None:
            """Network bytes of a Xet download (before deduplication); the written bytes are what we count."""

        def set_transfer_postfix_str(self, s: str = "", refresh: bool = True) -> None:
            """The Xet transfer rate: not shown."""

        def _forward(self) -> None:
            counter.set_total(int(self.total) if self.total else None)
            counter.update(max(self.n, 0))

    return CountingBar


def _hub_errors() -> tuple[type[BaseException], ...]:
    """Exceptions a hub download raises when offline or unreachable (its HTTP stack varies by version)."""
    errors: list[type[BaseException]] = [OSError, ValueError, EntryNotFoundError]
    for module_name in ("httpx2", "httpx", "requests"):
        try:
            module = __import__(module_name)
        except ImportError:
            continue
        for attr in ("HTTPError", "RequestException"):
            cls = getattr(module, attr, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                errors.append(cls)
    return tuple(errors)
