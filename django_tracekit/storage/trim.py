"""Give the heap a flush freed back to the operating system (glibc's ``malloc_trim``).

A flush allocates (the SQL compiler's objects, the database library's buffers, the rows)
and frees it all when it ends, but glibc keeps freed memory in its arenas for the next
allocation: a web worker's RSS grew by the size of a flush's peak and stayed there. After
each flush the flusher thread calls ``malloc_trim(0)``, which returns the free pages of
every arena. Linux with glibc only (``gnu_get_libc_version`` present); anywhere else,
or if loading it fails, it is a no-op, and it never raises.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable

logger = logging.getLogger("django_tracekit")

_trim: Callable[[int], int] | None = None
_loaded = False


def _load() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols: the libc it runs with
        libc.gnu_get_libc_version  # noqa: B018 - glibc only (musl has no malloc_trim)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_heap() -> None:
    """Return the allocator's free memory to the OS where glibc can; never raises."""
    global _trim, _loaded
    try:
        if not _loaded:
            _trim, _loaded = _load(), True
        if _trim is not None:
            _trim(0)
    except Exception:
        logger.debug("tracekit: malloc_trim failed", exc_info=True)
