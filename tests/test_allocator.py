"""The allocator settings the app makes itself: freed blocks go back to the system, no variable needed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from visualiser import allocator
from visualiser.paths import REPO_ROOT

# glibc raises its mmap threshold to the size of each freed mmapped block (up to 32 MB); blocks below it then
# come from the heap, and a heap whose top is still in use cannot shrink. This is what grew the server.
PROBE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from visualiser import allocator
    if sys.argv[1] == "tuned":
        assert allocator.tune_allocator()
    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    base = rss_mb()
    big = np.ones(4_000_000)  # 32 MB, mmapped; freeing it raises the dynamic threshold to 32 MB
    del big
    blocks = [np.ones(750_000) for _ in range(40)]  # 240 MB in 6 MB blocks
    last = blocks[-1]
    del blocks  # all but the last are free again
    print(rss_mb() - base)
    """
)


def _kept_mb(mode: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return float(done.stdout.strip())


@pytest.mark.skipif(allocator._libc() is None or not sys.platform.startswith("linux"), reason="glibc only")
def test_freed_blocks_go_back_to_the_system_once_the_allocator_is_tuned():
    assert _kept_mb("plain") > 180  # the default: 234 MB freed, still resident
    assert _kept_mb("tuned") < 20  # a fixed 4 MB threshold: each 6 MB block was its own mapping, returned on free


def test_the_app_tunes_the_allocator_before_anything_else():
    source = (REPO_ROOT / "app.py").read_text(encoding="utf-8")
    body = source.split('"""', 2)[2]  # after the docstring
    statements = [line for line in body.splitlines() if line.strip() and not line.startswith("#")]
    assert statements[:2] == ["from visualiser.allocator import tune_allocator", "tune_allocator()"]
