"""Failures inside tracekit are logged once per process with their traceback, then counted
silently: a broken hook on a hot path must not flood the application's logs."""

from __future__ import annotations

import logging
import threading

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
