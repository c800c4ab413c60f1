"""The trace store's span processor: finished spans -> parts of traces in a bounded buffer
-> keep decisions -> written by a background flusher.

Hot path (``on_end``, in the application's thread): one dict lookup and a list append
under a lock, a size estimate, and at the end of the *local part* of a trace (its local
root: a span with no parent or a remote one) the keep decision (:mod:`.keep`). No I/O, no
JSON: spans are converted (redacted, capped) in the flusher thread (:mod:`.rows`).

A part that is not kept stays in the buffer for ``buffer_s`` (``BUFFER_S``, 120 s) if
another process can hold parts of its trace (its root has a remote parent, or it sent a
Celery message or an outgoing request): at every flush the process asks the database which
of those trace ids are kept now (one indexed query per 500 ids) and writes its parts of
them. A part under a remote parent (a task run) is held longer, until its 10-minute window
has ended plus ``buffer_s``: its parent may be kept as ``slow`` only when that window
ends. A part that can have no other part (a request that only ran SQL) is forgotten at
once when not kept. The buffer is bounded in traces, spans per trace and estimated bytes;
beyond, the oldest part that is not kept is evicted first.

Flushing, outages and test runs are those of every local destination
(:mod:`django_tracekit.storage.flushing`): a daemon thread every ``flush_interval_s``, first
at every exit, a bounded backlog of kept parts when the database is down (logged once until
it recovers), quiet waiting (:class:`NotReady`) until ``migrate``, a fresh state after
``fork()``, and in a test run no thread and no database: parts go to
:data:`django_tracekit.destinations.traces.memory.memory_traces`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.trace import SpanKind, StatusCode

from django_tracekit.core import clock as real_clock
from django_tracekit.core import testrun
from django_tracekit.core.features import feature_kind, feature_name
from django_tracekit.core.sdk_attributes import readable
from django_tracekit.destinations.traces import incidents, keep
from django_tracekit.destinations.traces.records import (
    NotReady,
    Part,
    PartsLeft,
    Writer,
    join_reasons,
)
from django_tracekit.destinations.traces.rows import hex_id, rows
from django_tracekit.destinations.traces.sizes import estimate, is_db
from django_tracekit.storage.flushing import FlushingProcessor

logger = logging.getLogger("django_tracekit")

BUFFER_S = 120.0
MAX_BUFFERED_TRACES = 2_000
MAX_BUFFER_BYTES = 16 * 1024 * 1024  # estimated (strings' lengths + a fixed cost per span)
MAX_BACKLOG_TRACES = 1_000  # kept parts waiting for the database (outage)
MAX_BACKLOG_SPANS = 50_000
TRIM_BATCHES = 2  # per flush: the MAX_TRACES cap never blocks the flusher for long

_ERROR = StatusCode.ERROR
_PRODUCER, _CLIENT, _CONSUMER = SpanKind.PRODUCER, SpanKind.CLIENT, SpanKind.CONSUMER
_USER_KEY = "enduser.id"


class _Buffered:
    """One trace's part in this process."""

    __slots__ = ("dropped", "hold_until", "joinable", "kept_elsewhere", "local_root_name",
                 "n_plus_one", "reasons", "root_ended", "root_name", "size", "slow_span",
                 "spans", "touched", "user_id")

    def __init__(self, now: float) -> None:
        self.spans: list[ReadableSpan] = []
        self.size = 0
        self.dropped = 0
        self.reasons = ""
        self.kept_elsewhere = False  # the database said another process kept it
        self.joinable = False  # another process may hold parts of this trace
        self.root_ended = False
        self.touched = now
        # A part under a remote parent: held (clock time) until its window's slow decision
        # can have kept the parent (see TraceStoreProcessor._hold).
        self.hold_until = 0.0
        self.root_name = ""
        self.local_root_name = ""
        self.user_id = ""
        self.slow_span = 0  # the root's span id while it is a slow candidate (keep.SlowRule)
        self.n_plus_one = False  # a span of the part got a tracekit.n_plus_one event

    @property
    def kept(self) -> bool:
        return bool(self.reasons) or self.kept_elsewhere


class TraceStoreProcessor(FlushingProcessor):
    """Tail-keeps traces (error, slow, n_plus_one, sample), written with ``writer``."""

    what = "kept traces"
    waiting_line = "tracekit: the trace store waits (%(error)s); keeping up to %(kept)s in " \
                   "memory"

    def __init__(self, writer: Writer | None = None, *, flush_interval_s: float = 10.0,
                 sample_rate: float = 0.01, max_spans_per_trace: int = 10_000,
                 max_traces: int = 20_000, buffer_s: float = BUFFER_S,
                 max_buffered_traces: int = MAX_BUFFERED_TRACES,
                 max_buffer_bytes: int = MAX_BUFFER_BYTES,
                 max_backlog_traces: int = MAX_BACKLOG_TRACES,
                 start_thread: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        default_writer = writer is None
        if writer is None:
            from django_tracekit.destinations.traces import store

            writer = store.database
        self.sample_threshold = keep.sample_threshold(sample_rate)
        self.max_spans_per_trace = max(1, int(max_spans_per_trace))
        self.max_traces = int(max_traces)
        self.buffer_s = float(buffer_s)
        self.max_buffered_traces = max_buffered_traces
        self.max_buffer_bytes = max_buffer_bytes
        self.max_backlog_traces = max_backlog_traces
        self._clock = clock
        self.wall_clock_ns = time.time_ns  # when windows end (span times are wall clock)
        self._writer: Writer
        self._start(writer, default_writer=default_writer, flush_interval_s=flush_interval_s,
                    start_thread=start_thread)

    def _init_state(self) -> None:
        self._parts: dict[int, _Buffered] = {}
        self._bytes = 0
        self._slow = keep.SlowBook()
        self._n_plus_one = keep.NPlusOneRule()
        self._backlog: dict[str, Part] = {}
        # Counters (this process): for tracekit_status, tests and the benchmark.
        self.evicted = 0  # parts evicted from the buffer (bounds)
        self.dropped_spans = 0  # spans beyond MAX_SPANS_PER_TRACE
        self.lost_parts = 0  # kept parts dropped from a full backlog (long outage)
        self.written_spans = 0

    # -- hot path ------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        try:
            context = span.context
            if context is None:
                return
            trace_id = context.trace_id
            parent = span.parent
            local_root = parent is None or parent.is_remote
            kind = span.kind
            size, n_plus_one = estimate(span, kind)
            now = self._clock()
            with self._lock:
                part = self._parts.get(trace_id)
                if part is None:
                    part = self._add_part(trace_id, now)
                part.touched = now
                if self._bytes + size > self.max_buffer_bytes:
                    self._evict(keep_id=trace_id, incoming=size)
                if (len(part.spans) < self.max_spans_per_trace
                        and self._bytes + size <= self.max_buffer_bytes):
                    part.spans.append(span)
                    part.size += size
                    self._bytes += size
                else:
                    part.dropped += 1
                    self.dropped_spans += 1
                if (span.status.status_code is _ERROR and "error" not in part.reasons
                        and incidents.is_incident(span)):  # not a handled exception
                    part.reasons = join_reasons(part.reasons, "error")
                if kind is _PRODUCER or (kind is _CLIENT and not is_db(span)):
                    part.joinable = True
                if n_plus_one:
                    part.n_plus_one = True
                if local_root:
                    self._decide(trace_id, part, span, parent is not None)
            if local_root and self._default_writer and part.kept:
                testrun.active()  # notice a test run while it lasts (once per kept trace)
        except Exception:  # never into the application
            logger.debug("tracekit: the trace store could not buffer a span", exc_info=True)

    def _add_part(self, trace_id: int, now: float) -> _Buffered:
        if len(self._parts) >= self.max_buffered_traces:
            self._evict()
        part = self._parts[trace_id] = _Buffered(now)
        return part

    def _evict(self, keep_id: int | None = None, incoming: int = 0) -> None:
        """Drop the oldest part that is not kept (the oldest of all if every one is), until
        the buffer has room for one more part and ``incoming`` bytes."""
        parts = self._parts
        while parts and (len(parts) >= self.max_buffered_traces
                         or self._bytes + incoming > self.max_buffer_bytes):
            victim = None
            for index, (trace_id, part) in enumerate(parts.items()):
                if trace_id != keep_id and not part.kept:
                    victim = trace_id
                    break
                if index >= 32:  # bounded scan: the oldest part goes, kept or not
                    break
            if victim is None:
                victim = next((t for t in parts if t != keep_id), None)
                if victim is None:
                    return
            self._bytes -= parts.pop(victim).size
            self.evicted += 1

    def _decide(self, trace_id: int, part: _Buffered, span: ReadableSpan,
                remote_parent: bool) -> None:
        part.root_ended = True
        attributes = readable(span)
        scope = span.instrumentation_scope
        kind = feature_kind(span.kind, scope.name if scope is not None else None, attributes)
        name = feature_name(span.name, kind, attributes)  # "GET (unmatched)", as the stats
        if remote_parent:
            part.joinable = True
            if span.kind is _CONSUMER:  # a task run: its request may be kept slow later
                self._hold(part, span)
        else:
            part.root_name = name
        part.local_root_name = part.local_root_name or name
        if attributes and not part.user_id:
            user = attributes.get(_USER_KEY)
            if user is not None:
                part.user_id = str(user)
        if kind is not None:
            reasons = []
            end = span.end_time or 0
            start = span.start_time or end
            # A frozen clock's 1970 is moved to now (this store's wall clock).
            start += real_clock.correction_ns(end, self.wall_clock_ns())
            if self._slow.rule.observe(name, trace_id, end - start, start):
                # A candidate: held until a flush decides (keep.SlowRule.settle).
                part.slow_span = span.context.span_id if span.context is not None else 0
            if part.n_plus_one and self._n_plus_one.take(name, start):
                reasons.append("n_plus_one")
            if keep.sampled(trace_id, self.sample_threshold):
                reasons.append("sample")
            if reasons:
                part.reasons = join_reasons(part.reasons, *reasons)
        if not part.kept and not part.joinable and not part.slow_span:
            # No other process can hold a part of it: nothing will ever make it kept.
            self._bytes -= self._parts.pop(trace_id).size

    def _hold(self, part: _Buffered, span: ReadableSpan) -> None:
        """Hold a task run's part (under a remote parent) until the end of
        the 10-minute window its root started in, then ``buffer_s`` as usual: its parent
        started no later, so that parent's window has ended by then, and a parent kept as
        ``slow`` when its window ends (keep.SlowRule) still finds this part here. Without
        it a slow request's kept trace lacked its tasks, expired after ``buffer_s``. The
        buffer's bounds still apply: the oldest part goes first when it is full."""
        end = span.end_time or 0
        wall = self.wall_clock_ns()
        start = (span.start_time or end) + real_clock.correction_ns(end, wall)
        window_end = (start // keep.WINDOW_NS + 1) * keep.WINDOW_NS
        left_s = max(0, window_end - wall) / 1e9
        part.hold_until = self._clock() + min(left_s, keep.WINDOW_NS / 1e9)

    # -- flushing ------------------------------------------------------------------------
    def _test_run_writer(self) -> Writer:
        from django_tracekit.destinations.traces.memory import memory_traces

        return memory_traces

    def _backlog_limit(self) -> str:
        return f"{self.max_backlog_traces} traces"

    def buffered(self) -> tuple[int, int, int]:
        """(traces, spans, estimated bytes) in the buffer now."""
        with self._lock:
            return (len(self._parts), sum(len(p.spans) for p in self._parts.values()),
                    self._bytes)

    def backlog(self) -> int:
        """Kept parts waiting to be written."""
        return len(self._backlog)

    def _take(self, trace_ids: Iterable[int] | None) -> list[tuple[int, _Buffered,
                                                                     list[ReadableSpan]]]:
        """Under the lock: the unwritten spans of kept parts (or of ``trace_ids``), taken out
        of the buffer (the part stays: later spans of a kept trace are written too)."""
        taken = []
        parts = self._parts
        ids = parts.keys() if trace_ids is None else trace_ids
        for trace_id in list(ids):
            part = parts.get(trace_id)
            if part is None or not (part.spans or part.dropped):
                continue
            if trace_ids is None and not part.kept:
                continue
            spans, part.spans = part.spans, []
            self._bytes -= part.size
            part.size = 0
            taken.append((trace_id, part, spans))
            if part.root_ended:
                # Written (or in the backlog): a later part of this trace here (a retry)
                # starts a new part, which asks the database like any other.
                del parts[trace_id]
                if part.slow_span:  # written (an error) while a slow candidate
                    self._slow.written_early(trace_id, part.slow_span)
        return taken

    def _to_parts(self, taken: list[tuple[int, _Buffered, list[ReadableSpan]]]) -> None:
        """Convert taken spans (outside the lock) and add them to the backlog."""
        for trace_id, part, spans in taken:
            slow = part.slow_span if "slow" in part.reasons else 0
            converted = Part(trace_id=hex_id(trace_id, 32), reasons=part.reasons,
                             spans=keep.mark_slow(rows(spans), hex_id(slow, 16) if slow else ""),
                             dropped=part.dropped,
                             root_name=part.root_name, local_root_name=part.local_root_name,
                             user_id=part.user_id)
            part.dropped = 0
            existing = self._backlog.get(converted.trace_id)
            if existing is None:
                self._backlog[converted.trace_id] = converted
            else:
                existing.merge(converted)
        self._trim_backlog()

    def _trim_backlog(self) -> None:
        backlog = self._backlog
        spans = sum(len(p.spans) for p in backlog.values())
        while backlog and (len(backlog) > self.max_backlog_traces
                           or spans > MAX_BACKLOG_SPANS):
            oldest = next(iter(backlog))
            spans -= len(backlog.pop(oldest).spans)
            self.lost_parts += 1

    def _flush(self, final: bool) -> bool:
        """Write the kept parts and the parts other processes kept; ``False`` if writing
        failed (kept parts stay in a bounded backlog), ``True`` when written or waiting for
        ``migrate`` (the tables are not there yet). ``final`` (at exit, on demand): every
        open window is decided now (there is no later flush)."""
        now = self._clock()
        with self._lock:
            self._settle_slow(final)
            taken = self._take(None)
            # Parts another process may have kept, and parts still open (their trace may
            # be kept already: spans ending after this process's part was written).
            candidates = [t for t, p in self._parts.items()
                          if not p.kept and (p.joinable or not p.root_ended)
                          and (p.spans or p.dropped)]
            self._expire(now)
        self._to_parts(taken)
        writer = self._current_writer()
        try:
            if candidates:
                kept = writer.kept([hex_id(t, 32) for t in candidates])
                if kept:
                    with self._lock:
                        ids = [t for t in candidates if hex_id(t, 32) in kept]
                        for trace_id in ids:
                            part = self._parts.get(trace_id)
                            if part is not None:
                                part.kept_elsewhere = True
                        joined = self._take(ids)
                    self._to_parts(joined)
            if self._backlog:
                parts = list(self._backlog.values())
                try:
                    self.written_spans += writer.write(parts, self.max_spans_per_trace)
                except PartsLeft as exc:
                    self._backlog = {p.trace_id: p for p in exc.parts}
                    raise
                self._backlog = {}
                if self.max_traces > 0:
                    # Batches, a few per flush: a big excess never blocks the flusher long.
                    for _ in range(TRIM_BATCHES):
                        if not writer.trim(self.max_traces):
                            break
            self._slow.send(writer)  # after the write: ranked with what was just written
        except NotReady as exc:
            self._wait(exc)
            # Not a failure: there is no store to write to yet (a project that never ran
            # migrate, a script on an empty database); what is kept waits for it.
            return True
        except Exception as exc:
            cause = exc.__cause__ if isinstance(exc, PartsLeft) and exc.__cause__ else exc
            self._write_failed(cause)
            return False
        self._recovered()
        return True

    def _settle_slow(self, final: bool) -> None:
        """Under the lock: what becomes of the slow candidates at this flush (``final``:
        at exit or on demand, every window is decided now)."""
        parts = self._parts
        now = self.wall_clock_ns() + (keep.WINDOW_NS * 2 if final else 0)
        slow, release = self._slow.settle(now, {t for t, p in parts.items() if p.slow_span})
        for trace_id in slow:
            parts[trace_id].reasons = join_reasons(parts[trace_id].reasons, "slow")
        for trace_id in release:
            held = parts[trace_id]
            held.slow_span = 0
            if not held.kept and not held.joinable and held.root_ended:
                self._bytes -= parts.pop(trace_id).size

    def _expire(self, now: float) -> None:
        """Under the lock: forget parts nobody kept within ``buffer_s`` of their last span
        (of their hold, for a part under a remote parent: :meth:`_hold`)."""
        cutoff = now - self.buffer_s
        parts = self._parts
        # Slow candidates wait for their window's decision (keep.SlowRule.settle).
        for trace_id in [t for t, p in parts.items()
                         if p.touched < cutoff and p.hold_until < cutoff and not p.slow_span]:
            self._bytes -= parts.pop(trace_id).size

    def unwritten_traces(self) -> int:
        """Kept traces with spans not written: for the exit's one line (none while waiting
        for ``migrate``)."""
        if self._waiting:
            return 0
        with self._lock:
            buffered = sum(1 for p in self._parts.values() if p.kept and p.spans)
        return len(self._backlog) + buffered


def processors() -> list[TraceStoreProcessor]:
    """The trace store processors of this process."""
    return TraceStoreProcessor.processors()


def flush_all() -> bool:
    """Flush every trace store processor of this process. Never raises."""
    return TraceStoreProcessor.flush_all()
