"""Which counted spans a write has committed, and what waits for that.

A Celery pool child about to be killed leaves a "counted" marker for its task only once the
task's count is committed; the worker's main process counts the task itself when the marker
is missing. The count may be committed by the flush the child asks for or, when that one
fails (a database busy for a moment), by a later one such as the exit's: the marker follows
the commit, whichever write it is, so the task is counted once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger("django_tracekit")


class Commits:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted = 0  # spans counted so far
        self._committed = 0  # how many of them a write has committed
        self._waiting: list[tuple[int, Callable[[], None]]] = []

    def counted(self) -> None:
        """One more span counted (called with the processor's own lock held)."""
        self._counted += 1

    def snapshot(self) -> int:
        """Taken when a flush takes the pending counts: what its write will commit."""
        return self._counted

    def committed(self, through: int) -> None:
        """A write committed every span counted up to ``through``: run what waited for it."""
        with self._lock:
            self._committed = max(self._committed, through)
            due = [cb for seq, cb in self._waiting if seq <= self._committed]
            self._waiting = [(seq, cb) for seq, cb in self._waiting if seq > self._committed]
        for callback in due:
            try:
                callback()
            except Exception:
                logger.debug("tracekit: a callback after a stats write failed", exc_info=True)

    def when_committed(self, callback: Callable[[], None]) -> None:
        """``callback()`` once every span counted so far is committed: now if it is."""
        with self._lock:
            if self._counted > self._committed:
                self._waiting.append((self._counted, callback))
                return
        callback()
