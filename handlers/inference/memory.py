"""Keeps the serving process's native heap from growing with traffic (glibc only; a no-op elsewhere).

Measured with `python -m bench --only memory` (32 clients, mixed lengths): glibc gives every thread
that allocates its own arena (up to 8 per core) and keeps freed memory in them, so the RSS of a
server whose request threads tokenize and run the model climbed from 121 MB to 280-320 MB. Two
arenas, and buffers of 64 KB or more (tensors, encodings, bodies) on mmap, which frees them back to
the system, hold it near 240 MB at the same throughput. Set at start-up through mallopt(3), before
the request threads exist, so the image, the local stack and the tests run the same way.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # <malloc.h>
ARENAS = 2
MMAP_THRESHOLD_BYTES = 64 * 1024
TRIM_THRESHOLD_BYTES = 128 * 1024


def bound_native_heap() -> bool:
    """True when glibc took the settings."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # musl, macOS: no mallopt
        return False
    return all(mallopt(option, value) == 1 for option, value in (
        (M_ARENA_MAX, ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)))
