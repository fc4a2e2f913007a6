"""The C allocator's settings for a long-running server, set by the app itself, and memory handed back.

glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MB), after which the
activation tensors of every request come from the heap arenas, one arena per worker thread, and the freed
space stays with the process: a Gradio server grew by 15-22 % of its resident memory over 320 requests. With
the thresholds fixed at 4 MB and two arenas the same run grew by 1-5 % (docs/LIMITS_AND_SECURITY.md has the
figures). 4 MB, not glibc's starting 128 kB: at 128 kB every activation was its own mapping, which tripled the
page faults and cost about 6 ms of system time per request; at 4 MB there are fewer faults than by default.
``mallopt`` takes effect at once, for arenas and blocks created afterwards, so ``tune_allocator`` is called
first thing in ``app.py``, before the server's threads exist; nothing needs to be set in the environment. On a
C library without ``mallopt`` both functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
SETTINGS = {M_MMAP_THRESHOLD: 4 << 20, M_TRIM_THRESHOLD: 4 << 20, M_ARENA_MAX: 2}


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune_allocator() -> bool:
    """Fixed mmap / trim thresholds and at most two malloc arenas (glibc); whether they were set."""
    libc = _libc()
    if libc is None:
        return False
    return all(libc.mallopt(option, value) == 1 for option, value in SETTINGS.items())


def release_memory() -> None:
    """Collect garbage and hand free heap pages back to the system (after a large network is dropped)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
