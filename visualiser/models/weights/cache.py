"""The weights cache: where downloaded and hand-installed files live, their checksums, and atomic installs.

URL downloads go to ``$VISUALISER_CACHE`` (default ``~/.cache/attention-visualiser``) under the name their spec
gives (``cached_filename``); hub files installed by hand go to ``<cache>/hub/<org>--<repo>/<filename>`` (hub
downloads themselves stay in the Hugging Face cache). Files arrive through ``staging``: written to temporaries
in the same folder, verified there, then moved into place in one rename, so an interrupted copy never leaves a
file that looks complete.

Hashing a 112.5 MB checkpoint costs about 65 ms of CPU with the file in the page cache (a disk read when it is
not), on every model load; so a verified file gets a small stamp beside it (``<name>.verified``: checksum, size,
mtime) and while the file's size and mtime still match, later uses trust the stamp (0.03 ms) instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from visualiser.errors import WeightsError
from visualiser.models.registry import WeightsSource

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
_STAMP_SUFFIX = ".verified"


def cache_dir() -> Path:
    """Where URL downloads are kept: ``$VISUALISER_CACHE`` or ``~/.cache/attention-visualiser``."""
    configured = os.environ.get("VISUALISER_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "attention-visualiser"


# --- checksums ----------------------------------------------------------------------------------


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``"sha256:<hex>"`` → ("sha256", "<hex>"); the hex may be a prefix of at least 8 digits (torchvision's)."""
    algo, _, digest = checksum.partition(":")
    digest = digest.lower()
    if algo not in ("sha1", "sha256") or len(digest) < 8 or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ValueError(f"checksum must be 'sha1:<hex>' or 'sha256:<hex>' with at least 8 digits, not {checksum!r}")
    return algo, digest


def describe_checksum(checksum: str) -> str:
    """The checksum as a person compares it: ``SHA-1 d8cf…`` or, for a prefix, ``SHA-256 starting with b3b3357e``."""
    algo, digest = parse_checksum(checksum)
    name, full_length = {"sha1": ("SHA-1", 40), "sha256": ("SHA-256", 64)}[algo]
    return f"{name} {digest}" if len(digest) == full_length else f"{name} starting with {digest}"


def file_digest(path: Path, algo: str) -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algo)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def checksum_matches(path: Path, checksum: str | None) -> bool:
    """Whether ``path`` hashes to ``checksum`` (full digest or a prefix of it); no checksum → True."""
    if checksum is None:
        return True
    algo, expected = parse_checksum(checksum)
    return file_digest(path, algo).startswith(expected)


def checksum_mismatch(path: Path, checksum: str) -> str:
    """``sha256 <actual> does not match the expected <expected>``, for the message that refuses ``path``."""
    algo, expected = parse_checksum(checksum)
    actual = file_digest(path, algo)[: max(len(expected), 8)]
    return f"{algo} {actual} does not match the expected {expected}"


# --- verified stamps ----------------------------------------------------------------------------


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + _STAMP_SUFFIX)


def _fingerprint(path: Path, checksum: str) -> dict[str, object]:
    stat = path.stat()
    return {"checksum": checksum, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def mark_verified(path: Path, checksum: str | None) -> None:
    """Remember that ``path`` (as it is now) matched ``checksum``; a stamp that cannot be written costs a re-hash."""
    if checksum is None:
        return
    stamp = _stamp_path(path)
    partial: Path | None = None
    try:
        fd, name = tempfile.mkstemp(dir=stamp.parent, prefix=f".{stamp.name}.")  # one per writer, then one rename
        partial = Path(name)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(_fingerprint(path, checksum)))
        partial.replace(stamp)
    except OSError as e:
        if partial is not None:
            partial.unlink(missing_ok=True)
        logger.warning("cannot record that %s was verified (%s); it will be hashed again next time", path, e)


def verify_cached(path: Path, checksum: str | None) -> bool:
    """Whether a cached file is the right one: its stamp still fits it, else it hashes to ``checksum``."""
    if checksum is None:
        return True
    try:
        if json.loads(_stamp_path(path).read_text()) == _fingerprint(path, checksum):
            return True
    except (OSError, ValueError):
        pass  # no stamp yet, or an unreadable one: hash the file
    if not checksum_matches(path, checksum):
        return False
    mark_verified(path, checksum)
    return True


def discard(path: Path) -> None:
    """Remove a cached file and its stamp (corrupt, or from an interrupted copy)."""
    path.unlink(missing_ok=True)
    _stamp_path(path).unlink(missing_ok=True)


# --- where files go -----------------------------------------------------------------------------


def cached_filename(source: WeightsSource) -> str:
    """The name the payload gets in the cache: ``filename``, else the URL's last part minus ``.zip``."""
    name = source.filename or source.location.rstrip("/").rsplit("/", 1)[-1]
    if source.archive == "zip":
        name = name.removesuffix(".zip")
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"cannot derive a cache file name from {source.location!r}")
    return name


def hub_filename(source: WeightsSource) -> str:
    """The file a hub entry loads from its repo."""
    return source.filename or "model.safetensors"


def installed_hub_path(source: WeightsSource) -> Path:
    """Where a hub file installed by hand (``fetch NAME --from FILE``) lives in our cache."""
    name = hub_filename(source)
    if not source.location or ".." in Path(source.location).parts or ".." in Path(name).parts:
        raise ValueError(f"cannot derive a cache path from hub repo {source.location!r} and file {name!r}")
    return cache_dir() / "hub" / source.location.replace("/", "--") / name


@contextmanager
def staging(target: Path) -> Iterator[Callable[[str], Path]]:
    """Temporaries beside ``target`` (same file system, so installing is one rename), all removed on exit."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(f"cannot create the weights cache {target.parent} ({e}); set VISUALISER_CACHE") from e
    temporaries: list[Path] = []

    def temporary(suffix: str) -> Path:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
        os.close(fd)
        temporaries.append(Path(name))
        return temporaries[-1]

    try:
        yield temporary
    finally:
        for path in temporaries:
            path.unlink(missing_ok=True)


def install(payload: Path, target: Path, checksum: str | None) -> Path:
    """Move a verified temporary into place (one rename: readers see the old file or the new) and stamp it."""
    payload.replace(target)
    mark_verified(target, checksum)
    return target
