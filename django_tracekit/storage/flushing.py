"""The lifecycle every local destination's span processor shares (stats, trace store),
written once: the process's one :class:`~django_tracekit.storage.flusher.Flusher` thread
(shared by every destination: one allocator arena), flushes that never
raise and never trace themselves, the exit's flush, the outage and "not migrated yet" log
lines, the test-run writer, the live set of processors and their reset after ``fork()``.

A subclass implements ``_init_state`` (its buffers; called again in a forked child),
``_flush(final)`` (one flush, under the flush lock) and ``_test_run_writer()``.

Decided once for both (they had drifted):

- every flush runs with OpenTelemetry's suppress key set, in the flusher thread and in any
  thread that calls :meth:`FlushingProcessor.flush` (``django_tracekit.destinations.stats.flush()``
  in a request): tracekit's own queries never become spans;
- :meth:`FlushingProcessor.flush` and :meth:`FlushingProcessor.flush_all` never raise (a
  failure is logged and the flush answers ``False``);
- at exit ``flush_all`` flushes on the flusher thread within the shared deadline.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, ClassVar

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import SpanProcessor

from django_tracekit.core import exit as exiting
from django_tracekit.core import lifecycle, testrun
from django_tracekit.core.logonce import allow
from django_tracekit.core.vocabulary import SUPPRESS_KEY
from django_tracekit.storage.flusher import Flusher

logger = logging.getLogger("django_tracekit")


class FlushingProcessor(SpanProcessor):
    """A span processor whose buffers a background thread writes with ``writer``."""

    # Set by each subclass: how its log lines name what it writes.
    what = "local destination"
    failed_line = "tracekit: writing %(what)s failed (%(type)s: %(error)s); keeping up to " \
                  "%(kept)s in memory and retrying every %(interval)ss (logged once until " \
                  "it recovers)"
    waiting_line = "tracekit: %(what)s waits (%(error)s); keeping up to %(kept)s in memory"
    recovered_line = "tracekit: writing %(what)s works again"
    _live: ClassVar[weakref.WeakSet[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._live = weakref.WeakSet()
        _kinds.append(cls)

    def _start(self, writer: Any, *, default_writer: bool, flush_interval_s: float,
               start_thread: bool) -> None:
        """Called by the subclass's ``__init__`` once its settings are set."""
        self._writer = writer
        self._default_writer = default_writer
        self.flush_interval_s = float(flush_interval_s)
        self._start_thread = start_thread
        self._shut_down = False
        self._reset()
        type(self)._live.add(self)
        if start_thread:
            self._ensure_thread()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._failing = False  # a write failed (logged once until one succeeds)
        self._waiting = False  # the writer said NotReady (logged once)
        self._flusher: Flusher | None = None
        self._init_state()

    # -- what a subclass provides ----------------------------------------------------------
    def _init_state(self) -> None:
        raise NotImplementedError

    def _flush(self, final: bool) -> bool:
        raise NotImplementedError

    def _test_run_writer(self) -> Any:
        raise NotImplementedError

    def _backlog_limit(self) -> str:
        """How much is kept during an outage, for the log lines ("20000 keys")."""
        raise NotImplementedError

    # -- flushing --------------------------------------------------------------------------
    @property
    def in_test_run(self) -> bool:
        """A processor with the default writer in a test run: it writes to memory only."""
        return self._default_writer and testrun.active()

    def _current_writer(self) -> Any:
        return self._test_run_writer() if self.in_test_run else self._writer

    def flush(self, final: bool = False) -> bool:
        """Write what is pending (``final``: decide everything now, as at exit); ``False``
        if writing failed (what was pending is kept, bounded). Never raises."""
        token = otel_context.attach(otel_context.set_value(SUPPRESS_KEY, True))
        try:
            with self._flush_lock:
                return self._flush(final or self._shut_down)
        except Exception:
            logger.warning("tracekit: %s flush failed", self.what, exc_info=True)
            return False
        finally:
            otel_context.detach(token)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.flush(final=True)

    def _log_line(self, line: str, exc: BaseException | None = None) -> str:
        return line % {"what": self.what, "kept": self._backlog_limit(),
                       "interval": self.flush_interval_s,
                       "type": type(exc).__name__ if exc is not None else "",
                       "error": str(exc).strip()[:300] if exc is not None else ""}

    def _write_failed(self, exc: BaseException) -> None:
        if self._failing:
            return
        self._failing = True
        # One line, no traceback: the cause is in it; the stack is at DEBUG. Once a minute
        # per process family (every child of a pool meets the same outage).
        if not allow(f"{self.what} write failed", 60.0)[0]:
            return
        logger.warning(self._log_line(self.failed_line, exc))
        logger.debug("tracekit: %s write failure", self.what, exc_info=exc)

    def _wait(self, exc: BaseException) -> None:
        if not self._waiting:
            self._waiting = True
            logger.info(self._log_line(self.waiting_line, exc))

    def _recovered(self) -> None:
        self._waiting = False
        if self._failing:
            self._failing = False
            logger.warning(self._log_line(self.recovered_line))

    def exit_flush(self) -> threading.Event:
        """Start the exit's flush on the flusher thread (never in the exiting thread: a
        black-holed database must not hold the exit); the event is set once written or
        failed. Without a thread (a test run, ``start_thread=False``) flushed here."""
        flusher = self._flusher
        if flusher is not None and flusher.alive:
            return flusher.request()
        done = threading.Event()
        # The thread ended (a shutdown before): write here only if the database answered.
        if flusher is None or not self._failing:
            self.flush()
        done.set()
        return done

    def shutdown(self) -> None:
        self._shut_down = True
        self.exit_flush().wait(exiting.remaining())
        flusher = self._flusher
        # The thread is shared: it ends (and is waited for) once its last destination leaves.
        if (flusher is not None and flusher.remove(self)
                and flusher.thread is not threading.current_thread() and flusher.thread.ident):
            flusher.thread.join(exiting.remaining())

    # -- background thread -----------------------------------------------------------------
    def _ensure_thread(self) -> None:
        global _shared
        if self._shut_down or (self._flusher is not None and self._flusher.alive
                               and self._flusher.serves(self)):
            return
        if self.in_test_run:  # nothing to write in the background: tests read memory
            return
        with _shared_lock:
            # One thread for every local destination of the process (one allocator arena).
            while True:
                if _shared is None or not (_shared.alive or not _shared.thread.ident):
                    _shared = Flusher(FLUSHER_THREAD)
                if _shared.add(self, self.flush, self.flush_interval_s,
                               keep_running=lambda: not self.in_test_run):
                    break
                _shared = None  # it was ending: a new one
            self._flusher = _shared

    @property
    def thread(self) -> threading.Thread | None:
        return self._flusher.thread if self._flusher is not None else None

    def _after_fork_in_child(self) -> None:
        # The parent still holds (and will write) what was pending at fork time.
        self._reset()
        if self._start_thread:
            self._ensure_thread()

    # -- every processor of a kind -----------------------------------------------------------
    @classmethod
    def processors(cls) -> list[Any]:
        """The processors of this kind in this process."""
        return list(cls._live)

    @classmethod
    def flush_all(cls, *, test_run_only: bool = False) -> bool:
        """Flush every processor of this kind (``test_run_only``: only those writing to
        memory in a test run); at exit on their flusher threads, within the deadline.
        Never raises."""
        ok = True
        for processor in list(cls._live):
            if test_run_only and not processor.in_test_run:
                continue
            try:
                if exiting.started():
                    ok = processor.exit_flush().wait(exiting.remaining()) and ok
                else:
                    ok = processor.flush() and ok
            except Exception:
                logger.warning("tracekit: %s flush failed", processor.what, exc_info=True)
                ok = False
        return ok


_kinds: list[type[FlushingProcessor]] = []
FLUSHER_THREAD = "tracekit-flush"
_shared: Flusher | None = None  # the process's flusher thread (see _ensure_thread)
_shared_lock = threading.Lock()


@lifecycle.after_fork_in_child
def _after_fork_in_child() -> None:
    """A forked child starts every processor empty, with its own flusher thread."""
    global _shared, _shared_lock
    _shared, _shared_lock = None, threading.Lock()  # the parent's thread is not in the child
    for kind in _kinds:
        for processor in list(kind._live):
            processor._after_fork_in_child()
