"""Plain downloads into our cache: streamed with a byte count, length-checked, unzipped if needed, verified.

Progress is counted here, chunk by chunk, against the server's ``Content-Length`` (the catalogue's size until
the headers arrive). The payload (the ``.pth`` inside an imgclsmob zip) must match the spec's checksum before
it is moved into place.
"""

from __future__ import annotations

import http.client
import shutil
import urllib.request
import zipfile
from pathlib import Path

from visualiser.errors import WeightsError
from visualiser.models.registry import ModelSpec
from visualiser.models.weights.cache import (
    CHUNK,
    cache_dir,
    cached_filename,
    checksum_matches,
    checksum_mismatch,
    discard,
    install,
    staging,
    verify_cached,
)
from visualiser.models.weights.messages import short_reason, unavailable
from visualiser.models.weights.progress import MB, DownloadProgress
from visualiser.types import ProgressFn

DOWNLOAD_TIMEOUT_S = 60.0
DOWNLOAD_ERRORS = (OSError, http.client.HTTPException, ValueError)


def cached_url_path(spec: ModelSpec) -> Path:
    """Where ``spec``'s URL download lives in the cache (whether or not it is there)."""
    return cache_dir() / cached_filename(spec.weights)


def fetch_url(spec: ModelSpec, allow_download: bool, progress: ProgressFn | None) -> Path:
    """The cached, verified file; downloaded first when absent or corrupt and downloads are allowed."""
    source = spec.weights
    target = cached_url_path(spec)
    if target.is_file():
        if verify_cached(target, source.checksum):
            return target
        discard(target)  # corrupt or from an interrupted copy: fetch it again
    if not allow_download:
        raise unavailable(spec, source.location, "downloads are turned off")
    with staging(target) as temporary:
        download = temporary(".part")
        counter = DownloadProgress(progress, f"{spec.name} weights", int(source.size_mb * MB))
        try:
            stream_to_file(source.location, download, counter)
        except DOWNLOAD_ERRORS as e:
            raise unavailable(spec, source.location, short_reason(e)) from e
        payload = download
        if source.archive == "zip":
            payload = temporary(".unzipped")
            try:
                unzip_member(download, target.name, payload)
            except (zipfile.BadZipFile, OSError) as e:
                raise WeightsError(f"the download from {source.location} is not a valid zip archive ({e})") from e
        if not checksum_matches(payload, source.checksum):
            raise WeightsError(
                f"the weights downloaded from {source.location} are corrupt or have changed: "
                + checksum_mismatch(payload, source.checksum or "")
            )
        return install(payload, target, source.checksum)


def stream_to_file(url: str, dest: Path, counter: DownloadProgress) -> None:
    """Copy ``url`` into ``dest`` chunk by chunk, counting bytes; a body shorter than its header is an error."""
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, dest.open("wb") as out:
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.strip().isdigit() else None
        counter.set_total(expected)
        counter.update(0)
        done = 0
        while chunk := response.read(CHUNK):
            out.write(chunk)
            done += len(chunk)
            counter.update(done)
    if expected is not None and done != expected:
        raise http.client.IncompleteRead(b"", expected - done)
    counter.finish()


def unzip_member(archive: Path, member_name: str, dest: Path) -> None:
    """Copy the archive's ``member_name`` (or its only weights file) to ``dest`` without trusting member paths."""
    with zipfile.ZipFile(archive) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        chosen = [n for n in names if n.rsplit("/", 1)[-1] == member_name]
        if not chosen:
            chosen = [n for n in names if n.endswith((".pth", ".pt", ".safetensors"))]
        if len(chosen) != 1:
            raise WeightsError(f"the archive holds {names}, not one weights file named {member_name!r}")
        with zf.open(chosen[0]) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
