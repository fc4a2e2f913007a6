"""Which input a result belongs to: the SHA-1 of the file's bytes (results record it; caches key on it).

Each caller hashes a file once and passes the digest on (``pipeline.analyse_image(..., sha1=...)``).
"""

from __future__ import annotations

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
        digest = hashlib.sha1(usedforsecurity=False)
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    return ""
