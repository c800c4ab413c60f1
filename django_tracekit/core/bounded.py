"""A daemon thread that runs one job at a time, waited for with a deadline and then left
behind: how every destination (export, Sentry, the exit's own work) keeps a process exit
within :data:`django_tracekit.core.exit.EXIT_TIMEOUT_S`.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable


class BoundedRunner:
    """A daemon thread started ahead of time that runs one job at a time, so that a caller
    can wait for a job with a deadline and then leave it behind.

    Started when it is built and again in a forked child, never at exit: Python 3.12+
    refuses to start a thread once the interpreter is finalizing (atexit). A job still
    running when the next one comes delays it (a stuck export is waited on again, not
    joined by a pile of threads)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.start()

    def start(self) -> None:
        """Start the thread (after a fork: the child's own). Silent if it cannot be."""
        jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        thread = threading.Thread(target=self._loop, args=(jobs,), name=self.name, daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter finalizing: callers get False from run()
            self._thread = None
            return
        self._jobs, self._thread, self._pid = jobs, thread, os.getpid()

    @staticmethod
    def _loop(jobs: queue.SimpleQueue[Callable[[], None]]) -> None:
        while True:
            jobs.get()()

    @property
    def alive(self) -> bool:
        return (self._thread is not None and self._pid == os.getpid()
                and self._thread.is_alive())

    def run(self, work: Callable[[], object], timeout_s: float) -> bool:
        """Run ``work`` (which must not raise) and wait at most ``timeout_s``; ``True`` if
        it finished in time."""
        done = self.submit(work)
        return done is not None and done.wait(max(0.0, timeout_s))

    def submit(self, work: Callable[[], object]) -> threading.Event | None:
        """Queue ``work`` (which must not raise); the event is set when it ended. ``None``
        if no thread can run it."""
        if not self.alive:
            self.start()
            if not self.alive:
                return None
        done = threading.Event()

        def job() -> None:
            try:
                work()
            finally:
                done.set()

        self._jobs.put(job)
        return done


@runtime_checkable
class BoundedExport(Protocol):
    """A span processor whose exit the bootstrap starts and waits for with the others
    (the export destination's batch processor): ``begin_shutdown`` returns at once."""

    @property
    def label(self) -> str: ...

    def begin_shutdown(self) -> threading.Event | None: ...

    def unsent(self) -> int: ...
