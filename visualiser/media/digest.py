"""Which input a result belongs to: the SHA-1 of the file's bytes (results record it; caches key on it).

A file's digest is remembered by path, size and modification time, so the views' cache key and the
pipeline's record of one upload read the file once.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from visualiser.errors import InputError

_CHUNK = 1 << 20


def source_sha1(source: object) -> str:
    """SHA-1 of a file (path) or of bytes; "" for anything else (decoded pixels have no file)."""
    if isinstance(source, bytes):
        return hashlib.sha1(source, usedforsecurity=False).hexdigest()
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path.name}: the file is no longer there; please upload it again")
        stat = path.stat()
        return _file_sha1(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return ""


@functools.lru_cache(maxsize=256)
def _file_sha1(path: str, size: int, mtime_ns: int) -> str:
    """The digest of one version of a file (size and mtime are part of the key: a changed file is read again)."""
    digest = hashlib.sha1(usedforsecurity=False)
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
