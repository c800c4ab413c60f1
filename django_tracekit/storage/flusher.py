"""The daemon thread that writes a local destination (stats, trace store): every
``interval_s`` and whenever asked (:meth:`Flusher.request`, e.g. at exit).

All of tracekit's own database writes happen on such a thread, never in the thread of a
request or of the exit: a black-holed database holds up this thread (its connections get
the timeouts of :mod:`django_tracekit.storage.timeouts`), while the exit waits for it at most
the shared deadline (:mod:`django_tracekit.core.exit`). Started ahead of time, never at exit
(Python 3.12+ refuses to start threads then).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from opentelemetry import context as otel_context

from django_tracekit.core.vocabulary import SUPPRESS_KEY
from django_tracekit.storage import timeouts
from django_tracekit.storage.trim import release_free_heap

logger = logging.getLogger("django_tracekit")


class Flusher:
    def __init__(self, name: str, flush: Callable[[], object], interval_s: float,
                 keep_running: Callable[[], bool]) -> None:
        self._flush = flush
        self.interval_s = interval_s
        self._keep_running = keep_running  # False: the thread ends (a test run began)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[threading.Event] = []
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def request(self) -> threading.Event:
        """Flush soon; the event is set once a flush that began after this call ended."""
        done = threading.Event()
        with self._lock:
            self._waiters.append(done)
        self._wake.set()
        return done

    def stop(self) -> None:
        """End after the flush in progress and those already requested."""
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        timeouts.mark_writer_thread()
        # The flusher's own queries must not become spans (and traces) themselves.
        otel_context.attach(otel_context.set_value(SUPPRESS_KEY, True))
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            with self._lock:
                waiters, self._waiters = self._waiters, []
            if not self._keep_running():
                for done in waiters:
                    done.set()
                return
            try:
                self._flush()
            except Exception:
                logger.debug("tracekit: flush failed", exc_info=True)
            finally:
                _close_thread_connections()
                for done in waiters:
                    done.set()
            if not self._stop.is_set():  # after the waiters: the exit never waits for it
                release_free_heap()
            if self._stop.is_set():
                with self._lock:
                    if not self._waiters:
                        return


def _close_thread_connections() -> None:
    # The flusher thread must not pin a database connection between flushes.
    try:
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            connection.close()
    except Exception:
        logger.debug("tracekit: closing the flusher thread's connection failed", exc_info=True)
