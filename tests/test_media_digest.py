"""The input digest results record: the file's SHA-1, read afresh, so it follows the file's changes."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from visualiser.errors import InputError
from visualiser.media import source_sha1


def test_a_files_digest_is_its_sha1_and_follows_its_changes(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"first version")
    assert source_sha1(path) == source_sha1(str(path)) == hashlib.sha1(b"first version").hexdigest()
    path.write_bytes(b"the second, longer version")
    os.utime(path, ns=(1, 1))  # even an older modification time: the size changed, so it is read again
    assert source_sha1(path) == hashlib.sha1(b"the second, longer version").hexdigest()
    assert source_sha1(b"bytes") == hashlib.sha1(b"bytes").hexdigest()
    assert source_sha1(np.zeros((2, 2, 3), np.uint8)) == ""  # decoded pixels have no file
    with pytest.raises(InputError, match="no longer there"):
        source_sha1(tmp_path / "gone.png")
