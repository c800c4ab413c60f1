"""Logging that never floods the application's logs: a failure inside tracekit is logged
once per process with its traceback, then counted (:class:`LogOnce`); other libraries'
repeated warnings (the SDK's export retries, the propagators' complaints about a client's
headers) and tracekit's own outage lines are let through once a minute with a count, less
often while they keep coming (:class:`RateLimitFilter`, :func:`allow`).

The once-a-minute limits are shared by a process and the children it forks (a Celery
prefork pool, a gunicorn master that preloaded the application): with
``max_tasks_per_child=1`` every task runs in a new child, and a per-process limit would
let every child log its own line. A family's limits live in a small file in the temporary
directory, keyed by the user and the pid of the family's first process, locked while read
and updated (``fcntl.flock``); without ``fcntl``, or if the file cannot be used, the limit
is per process as before.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django_tracekit.core import lifecycle

try:
    import fcntl
except ImportError:  # Windows: limits per process
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("django_tracekit")


class LogOnce:
    """``failed()`` from an ``except`` block: the first call logs the exception."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.count = 0
        self._lock = threading.Lock()

    def failed(self) -> None:
        with self._lock:
            self.count += 1
            first = self.count == 1
        if first:
            logger.exception("tracekit: %s (logged once per process)", self.message)


# --- limits shared by a process family ------------------------------------------------------

_family: int | None = None  # pid of the first process of this family (set when it forks)
_MAX_KEYS = 1_000  # message texts are bounded; stay so


def _before_fork() -> None:
    global _family
    if _family is None:
        _family = os.getpid()  # this process forks: its children share its limits


def _after_fork_in_child() -> None:
    # Another thread may have held the lock when this process forked: the child has only
    # the forking thread, so it would wait on that lock forever (seen in the suite).
    global _local_lock
    _local_lock = threading.Lock()


lifecycle.before_fork(_before_fork)
lifecycle.after_fork_in_child(_after_fork_in_child)


def family() -> int | None:
    """The pid of this process family's first process (``None``: this process never
    forked and was not forked from one that loaded tracekit)."""
    return _family


def family_path() -> str | None:
    """The file holding this family's limits, or ``None`` (a process that never forked
    and was not forked from one that loaded tracekit)."""
    if _family is None or fcntl is None:
        return None
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"tracekit-log-limits-{uid}-{_family}.json")


@contextlib.contextmanager
def _shared(path: str) -> Iterator[dict[str, Any]]:
    """The family's limits, locked against the other processes; written back after.

    The lock is a file of its own and the data is replaced whole (written aside, then
    renamed): a process that ends half-way (a pool child leaves through ``os._exit``
    while its exporter thread logs) leaves the limits as they were, never truncated."""
    lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, "rb") as stored:
                seen = json.loads(stored.read() or b"{}")
        except (OSError, ValueError):
            seen = {}
        if not isinstance(seen, dict):
            seen = {}
        yield seen
        aside = f"{path}.{os.getpid()}.{threading.get_ident()}"
        with open(aside, "w", encoding="utf-8") as out:
            json.dump(seen, out)
        os.replace(aside, path)
    finally:
        os.close(lock)  # releases the lock


_local_lock = threading.Lock()
_local_seen: dict[str, list[float]] = {}  # key -> [last wall time, held back]


# While an outage goes on, its lines come less and less often: the period doubles each
# time a line passes with others held back since the last one, up to this.
MAX_EVERY_S = 16 * 60.0


def allow(key: str, every_s: float = 60.0, now: float | None = None) -> tuple[bool, int, float]:
    """May a line of ``key`` be logged now? At most one every ``every_s`` per process
    family, less often while it keeps coming (see :data:`MAX_EVERY_S`). With how many were
    held back since the last one was, and how long ago that was (s)."""
    now = time.time() if now is None else now
    path = family_path()
    if path is not None:
        try:
            with _local_lock, _shared(path) as seen:
                return _decide(seen, key, every_s, now)
        except OSError:
            pass  # no shared file (read-only temp dir...): per process
    with _local_lock:
        return _decide(_local_seen, key, every_s, now)


def _decide(seen: dict[str, Any], key: str, every_s: float,
            now: float) -> tuple[bool, int, float]:
    entry = seen.get(key)
    if not (isinstance(entry, list) and len(entry) == 3):
        entry = None
    if entry is not None and 0 <= now - entry[0] < entry[2]:
        entry[1] += 1
        return False, 0, 0.0
    held = int(entry[1]) if entry is not None else 0
    since = now - entry[0] if entry is not None else 0.0
    # Held back lines in the period just ended and this one right after it: still going.
    period = every_s
    if entry is not None and held and since < 2 * entry[2]:
        period = min(entry[2] * 2, max(every_s, MAX_EVERY_S))
    if len(seen) >= _MAX_KEYS:
        seen.clear()
    seen[key] = [now, 0, period]
    return True, held, since


def forget() -> None:
    """Forget every limit of this process family (a test starts from a clean slate)."""
    with _local_lock:
        _local_seen.clear()
        path = family_path()
        if path is not None and os.path.exists(path):
            with contextlib.suppress(OSError), _shared(path) as seen:
                seen.clear()


def remove_family_file() -> None:
    """The family's first process ends: its limits go with it."""
    path = family_path()
    if path is not None and _family == os.getpid():
        # With the copies a child left half-written when it ended mid-update.
        for name in (path, path + ".lock", *glob.glob(glob.escape(path) + ".*")):
            with contextlib.suppress(OSError):
                os.unlink(name)


atexit.register(remove_family_file)


class RateLimitFilter(logging.Filter):
    """At most one record per logger and message every ``every_s`` (per process family);
    the next one that passes says how many were held back."""

    def __init__(self, every_s: float = 60.0,
                 clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        self.every_s = every_s
        self._clock = clock  # tests; the default is the wall clock the family shares

    def filter(self, record: logging.LogRecord) -> bool:
        # The filter's id: the same in every forked child of the family (a test's own
        # filter does not share another's counts).
        key = f"{id(self)}\x00{record.name}\x00{record.msg}"
        message = str(record.msg)
        if message.startswith(_OWN_DOING):
            return False
        if message.startswith(_EXPORT_FAILED):
            key = EXPORT_FAILING  # tracekit says it too: one line for both
        passed, held, since = allow(key, self.every_s,
                                    self._clock() if self._clock is not None else None)
        if not passed:
            return False
        if held:
            record.msg = (f"{record.getMessage()} (tracekit: {held} more like this in the "
                          f"last {since:.0f} s were not logged)")
            record.args = None
        return True


# The key of every line that says spans could not be exported (tracekit's exporter and exit
# lines, the SDK's own): in an outage, one of them at a time.
EXPORT_FAILING = "export failing"
# The SDK's "spans batch could not be exported" (tracekit logs its own line for it).
_EXPORT_FAILED = ("Failed to export",)
# Said by the SDK when tracekit ends its retries at exit, which is by design.
_OWN_DOING = ("Shutdown in progress, aborting retry",)


def add_filters(logger_names: Iterable[str], *filters: logging.Filter) -> None:
    """Attach ``filters``, in order, to each named logger (idempotent)."""
    for name in logger_names:
        named = logging.getLogger(name)
        for one in filters:
            if one not in named.filters:
                named.addFilter(one)
