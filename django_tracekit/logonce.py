"""Logging that never floods the application's logs: a failure inside tracekit is logged
once per process with its traceback, then counted (:class:`LogOnce`); other libraries'
repeated warnings (the SDK's export retries, the propagators' complaints about a client's
headers) are let through once a minute with a count (:class:`RateLimitFilter`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

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


class RateLimitFilter(logging.Filter):
    """At most one record per logger and message every ``every_s``; the next one that
    passes says how many were held back."""

    def __init__(self, every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], list[float]] = {}  # key -> [last time, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.every_s:
                seen[1] += 1
                return False
            held = int(seen[1]) if seen is not None else 0
            self._seen[key] = [now, 0]
            if len(self._seen) > 1_000:  # message texts are bounded; stay so
                self._seen = {key: self._seen[key]}
        if held:
            record.msg = (f"{record.getMessage()} (tracekit: {held} more like this in the "
                          f"last {self.every_s:.0f} s were not logged)")
            record.args = None
        return True


def add_filters(logger_names: Iterable[str], *filters: logging.Filter) -> None:
    """Attach ``filters``, in order, to each named logger (idempotent)."""
    for name in logger_names:
        named = logging.getLogger(name)
        for one in filters:
            if one not in named.filters:
                named.addFilter(one)
