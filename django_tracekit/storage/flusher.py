"""The daemon thread that writes the local destinations (stats, trace store): each one
every its ``interval_s`` and all of them whenever asked (:meth:`Flusher.request`, e.g. at exit).

One thread per process serves every destination (:meth:`Flusher.add`): each thread that
allocates gets its own allocator arena, whose retained pages a web worker kept in its RSS.
All of tracekit's own database writes happen on this thread, never in the thread of a
request or of the exit: a black-holed database holds up this thread (its connections get
the timeouts of :mod:`django_tracekit.storage.timeouts`), while the exit waits for it at most
the shared deadline (:mod:`django_tracekit.core.exit`). Started ahead of time, never at exit
(Python 3.12+ refuses to start threads then).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry import context as otel_context

from django_tracekit.core.vocabulary import SUPPRESS_KEY
from django_tracekit.storage import timeouts
from django_tracekit.storage.trim import release_free_heap

logger = logging.getLogger("django_tracekit")


@dataclass
class _Job:
    flush: Callable[[], object]
    interval_s: float
    keep_running: Callable[[], bool]  # False: skipped (a test run began)
    due: float


class Flusher:
    """The thread and the destinations it flushes; it ends once none is left (or every
    one says a test run began)."""

    def __init__(self, name: str) -> None:
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[threading.Event] = []
        self._jobs: dict[object, _Job] = {}
        self._ended = False
        self._started = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def add(self, owner: object, flush: Callable[[], object], interval_s: float,
            keep_running: Callable[[], bool]) -> bool:
        """Flush ``owner`` every ``interval_s`` from now on; ``False`` if the thread has
        ended (or is ending): the caller starts a new one."""
        with self._lock:
            if self._ended:
                return False
            self._jobs[owner] = _Job(flush, float(interval_s), keep_running,
                                     time.monotonic() + float(interval_s))
            if not self._started:
                self._started = True
                self.thread.start()
        self._wake.set()  # the next wake-up may be earlier now
        return True

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def serves(self, owner: object) -> bool:
        with self._lock:
            return not self._ended and owner in self._jobs

    def request(self) -> threading.Event:
        """Flush every destination soon; the event is set once a flush round that began
        after this call ended."""
        done = threading.Event()
        with self._lock:
            self._waiters.append(done)
        self._wake.set()
        return done

    def remove(self, owner: object) -> bool:
        """Stop flushing ``owner`` (after the round in progress and those already
        requested); ``True`` if none is left: the thread ends."""
        with self._lock:
            self._jobs.pop(owner, None)
            last = not self._jobs
        self._wake.set()
        return last

    def _next_wait(self) -> float:
        with self._lock:
            dues = [job.due for job in self._jobs.values()]
        return max(0.0, min(dues) - time.monotonic()) if dues else 0.0

    def _run(self) -> None:
        timeouts.mark_writer_thread()
        # The flusher's own queries must not become spans (and traces) themselves.
        otel_context.attach(otel_context.set_value(SUPPRESS_KEY, True))
        while True:
            self._wake.wait(self._next_wait())
            self._wake.clear()
            with self._lock:
                waiters, self._waiters = self._waiters, []
                jobs = list(self._jobs.values())
                running = [job for job in jobs if job.keep_running()]
                if not running:
                    self._ended = True  # none left, or a test run began: the thread ends
            if self._ended:
                for done in waiters:
                    done.set()
                return
            now = time.monotonic()
            due = [job for job in running if waiters or job.due <= now]
            try:
                for job in due:
                    try:
                        job.flush()
                    except Exception:
                        logger.debug("tracekit: flush failed", exc_info=True)
                    # From the end of its flush: a slow (or failing) database is retried
                    # an interval later, not at once.
                    job.due = time.monotonic() + job.interval_s
            finally:
                if due:
                    _close_thread_connections()
                for done in waiters:
                    done.set()
            if due:  # after the waiters: the exit never waits for it
                release_free_heap()


def _close_thread_connections() -> None:
    # The flusher thread must not pin a database connection between flushes.
    try:
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            connection.close()
    except Exception:
        logger.debug("tracekit: closing the flusher thread's connection failed", exc_info=True)
