"""The aggregating span processor: finished spans -> per-minute counters in memory.

Hot path (``on_end``): classify the span, one dict lookup for its key ``(feature, kind,
service, minute)``, a few integer updates and one histogram-bucket increment, under a lock
held only for those updates (concurrent request threads never lose an increment). No I/O,
no allocation beyond a new key's entry.

Which spans count (what names a feature of a kind ``STATS['KINDS']`` lists, never library spans):

- ``request``: SERVER spans; the feature is the server span's name, the HTTP route
  (``GET /orders/<int:pk>/``). The view's convention-named child span is counted too, as a
  ``function`` (its code location), so "where is the time spent" stays one click away.
  A request no route matched is ``GET (unmatched)`` (``features.feature_name``); its
  ``enduser.id``, when the app loaded the user, goes into the feature's users sketch.
- ``task``: CONSUMER spans (Celery task execution), and tracekit INTERNAL spans carrying
  ``messaging.system = "celery"``.
- ``function``: INTERNAL spans of tracekit's instrumentation scope (``tracekit.span``,
  ``@traced``, auto-trace, view spans).

Error groups (:mod:`.groups`): every recorded error counted once in its group (type + in-app
raise location) under the entry point whose span ends after it, whatever ``STATS['KINDS']``.

Flushing happens off the request path: a daemon thread every ``FLUSH_INTERVAL_S``, at
``shutdown()``/atexit, and on demand (:func:`django_tracekit.destinations.stats.flush`). A
failed write keeps a bounded backlog (merged per key, oldest minutes dropped beyond the cap)
that the next flush retries; the failure is logged once until a write succeeds again. A
writer that cannot write yet (:class:`NotReady`: tables not migrated) gets the same backlog,
quietly. After ``fork()`` the child starts empty (the parent flushes its own pending
counts) and gets its own flusher thread.

In a test run (:mod:`django_tracekit.core.testrun`) a processor with the default writer has
no flusher thread and writes to no database: its flushes (and the one at exit) go to
:data:`memory_counts`, read by :mod:`django_tracekit.testing`; a given ``writer`` is used.
"""

from __future__ import annotations

import logging
import time

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span
from opentelemetry.trace import StatusCode

from django_tracekit.core import call_counts, producers, sdk_attributes, testrun
from django_tracekit.core import clock as real_clock
from django_tracekit.core import errors as _errors
from django_tracekit.core.features import COMMAND, KINDS, feature_kind, feature_name
from django_tracekit.core.histogram import bucket_index
from django_tracekit.core.sketch import Users, hash_user
from django_tracekit.core.vocabulary import N_PLUS_ONE_EVENT
from django_tracekit.destinations.stats import groups as _groups
from django_tracekit.destinations.stats.edges import EdgeCounts
from django_tracekit.destinations.stats.error_samples import error_sample
from django_tracekit.destinations.stats.memory import memory_counts, merge_entry, new_entry
from django_tracekit.destinations.stats.records import (
    FUNCTION,
    MINUTE_NS,
    OTHER_FEATURE,
    REQUEST,
    TASK,
    Entry,
    ErrorSample,
    Key,
    NotReady,
    Pending,
    WriteIncomplete,
    Writer,
)
from django_tracekit.destinations.stats.store import write as _database_writer
from django_tracekit.storage.flushing import FlushingProcessor

logger = logging.getLogger("django_tracekit")

DEFAULT_MAX_KEYS = 2_000  # distinct (feature, kind, service, minute) per flush window
DEFAULT_MAX_BACKLOG_KEYS = 20_000  # kept across failed flushes (database outage)
MAX_ERRORS_PER_FLUSH = 100
MAX_ERRORS_PER_FEATURE = 5  # per flush window: one noisy feature cannot crowd out others
MAX_USER_HASHES = 10_000  # user id -> hash cache (cleared when full)
INSTRUMENTED_REFRESH_S = 86_400.0
ENDUSER_ID = "enduser.id"
# A Celery attempt's outcome (celery/tracing.py sets them; not imported: Celery is optional).
CELERY_STATE = "celery.state"
RETRY_STATE = "RETRY"
SUCCESS_STATE = "SUCCESS"  # a task that logged an exception and returned: not a failure
RETRY_EXCEPTION_TYPE = "celery.retry.exception.type"  # the retry was caused by an exception
CELERY_RETRIES = "celery.retries"  # on an attempt after the first: how many came before
ENTRY_KINDS = frozenset((REQUEST, TASK, COMMAND))
MAX_ROLLUP_PARENTS = 10_000  # open spans holding their descendants' N+1 at once

_ERROR = StatusCode.ERROR


class StatsProcessor(FlushingProcessor):
    """Aggregates finished spans per (feature, kind, service, minute); flushes to ``writer``."""

    what = "feature-usage stats"
    waiting_line = "tracekit: feature-usage stats wait (%(error)s); keeping up to %(kept)s " \
                   "in memory"

    def __init__(self, writer: Writer | None = None, *, flush_interval_s: float = 10.0,
                 max_keys: int = DEFAULT_MAX_KEYS,
                 max_backlog_keys: int = DEFAULT_MAX_BACKLOG_KEYS,
                 start_thread: bool = True, service: str = "unknown_service",
                 group_writer: _groups.GroupWriter | None = None,
                 kinds: tuple[str, ...] = KINDS) -> None:
        # Error groups go where the counters go: the database, or nowhere for other writers.
        self._group_writer = group_writer if group_writer is not None else (
            _groups.database_writer if writer is None or writer is _database_writer else None)
        _errors.add_listener(_on_error)
        self.max_keys = max_keys
        self.max_backlog_keys = max_backlog_keys
        self._resource: object = None
        self._service = service  # until a span's resource names it
        self._version = ""
        self._late_ns = 0  # span ends up to here need no clock correction (on_end)
        self._kinds = frozenset(kinds)  # STATS['KINDS'] (one set lookup per span)
        self._writer: Writer
        self._start(writer if writer is not None else _database_writer,
                    default_writer=writer is None, flush_interval_s=flush_interval_s,
                    start_thread=start_thread)

    def _init_state(self) -> None:
        self._acc: dict[Key, Entry] = {}
        self._errors: list[ErrorSample] = []
        # N+1 occurrences of ended spans, by the span id of their (still open) parent: rolled
        # up to the nearest entry point (a request, task or command) when it ends.
        self._n1_below: dict[int, int] = {}
        self._groups = _groups.GroupCounter(self._group_writer)
        self._error_counts: dict[tuple[str, str, str], int] = {}
        self._backlog: dict[Key, Entry] = {}
        self._user_hashes: dict[str, int] = {}
        self._instrumented_done: tuple[int, float] = (0, 0.0)
        self._backlog_errors: list[ErrorSample] = []
        self._edges = EdgeCounts()  # producer -> task (stats/edges.py)
        self.dropped_spans = 0  # lost to a backlog overflow during a long outage

    # -- hot path ------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        producers.entered(span)  # which entry point enqueues tasks (stats/edges.py)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            scope = span.instrumentation_scope
            attributes = sdk_attributes.readable(span)  # the SDK's: a Mapping view per read
            kind_name = feature_kind(span.kind, scope.name if scope is not None else None,
                                     attributes)
            # The SDK's ``events`` copies them into a new tuple per read: its own list when
            # it is there (docs/PRIVATE_SEAMS.md, as the trace store), else the property.
            events = getattr(span, "_events", None)
            if events is None:
                events = span.events
            n_plus_one = sum(1 for e in events if e.name == N_PLUS_ONE_EVENT) if events else 0
            below = self._roll_up(span, n_plus_one, kind_name in ENTRY_KINDS) \
                if n_plus_one or self._n1_below else 0
            if kind_name is None or kind_name not in self._kinds:
                if kind_name is not None and self._groups.pending:
                    self._groups.claim_uncounted(span, kind_name, attributes)
                return
            resource = span.resource
            if resource is not self._resource:  # one provider, one resource: cached
                self._service = str(resource.attributes.get("service.name", "unknown_service"))
                self._groups.service = self._service
                self._version = str(resource.attributes.get("service.version") or "")[:64]
                self._resource = resource
            service = self._service
            end = span.end_time or 0
            duration = end - (span.start_time or end)
            if duration < 0:
                duration = 0
            if end < real_clock.EARLIEST_NS or end > self._late_ns:
                # A frozen clock's 1970 is bucketed now. An end before the last "now" read
                # plus the tolerance needs no correction: the clock is read only past it.
                now = real_clock.time_ns()
                self._late_ns = now + real_clock.TOLERANCE_NS
                end += real_clock.correction_ns(end, now)
            is_error = span.status.status_code is _ERROR
            if kind_name in ENTRY_KINDS:  # a function keeps the N+1 it ran itself
                n_plus_one += below
            # A task counts tasks: an attempt Celery retries is a retry, not a call (nor an
            # error); the final attempt (success, failure, retries exhausted) is the call.
            retried = failed_attempt = after_retry = False
            if kind_name == TASK and attributes:
                state = attributes.get(CELERY_STATE)
                if state == SUCCESS_STATE:
                    is_error = False  # an error it recorded is in its group, not a failure
                retried = state == RETRY_STATE
                failed_attempt = (RETRY_EXCEPTION_TYPE in attributes) if retried else is_error
                if retried:
                    is_error = False
                else:  # flaky: passed, but only after a retry (a final failure is an error)
                    after_retry = not is_error and bool(attributes.get(CELERY_RETRIES))
            # One place names features (a 404 is "GET (unmatched)" everywhere).
            name = feature_name(span.name, kind_name, attributes)
            if attributes and producers.FEATURE in attributes and kind_name == "task":
                self._edges.add(attributes, name, service, end, is_error)
            user_hash = None
            if attributes:
                user = attributes.get(ENDUSER_ID)
                if user is not None:
                    user_hash = self._user_hash(str(user))
            new_key = False
            key = (name, kind_name, service, end // MINUTE_NS)
            index = bucket_index(duration)
            with self._lock:
                acc = self._acc
                entry = acc.get(key)
                if entry is None:
                    new_key = True
                    if len(acc) >= self.max_keys:
                        key = (OTHER_FEATURE, kind_name, service, key[3])
                        entry = acc.get(key)
                    if entry is None:
                        entry = acc[key] = [0, 0, 0, 0, {}, 0, None, self._version, 0, 0, 0]
                if failed_attempt:
                    entry[9] += 1
                if after_retry:
                    entry[10] += 1
                if retried:
                    entry[8] += 1
                else:
                    entry[0] += 1
                    entry[2] += duration
                    if duration > entry[3]:
                        entry[3] = duration
                    hist = entry[4]
                    hist[index] = hist.get(index, 0) + 1
                if is_error:
                    entry[1] += 1
                if n_plus_one:
                    entry[5] += n_plus_one
                if user_hash is not None:
                    users = entry[6]
                    if users is None:
                        users = entry[6] = Users()
                    users.add(user_hash)
            if is_error:
                self._sample_error(span, key, end)
            if self._groups.pending and (kind_name != FUNCTION or span.parent is None
                                         or span.parent.is_remote):
                # An entry point (or local root) ended: its errors are counted under it.
                self._groups.claim(span.context.trace_id, span.start_time or 0, key[0],
                                   kind_name, service)
            if new_key and self._default_writer:
                # Notice a test run started by a custom runner while it lasts (its mark is
                # gone by the exit flush); once per key and window, not per span.
                testrun.active()
        except Exception:  # never into the application
            logger.debug("tracekit: stats could not aggregate a span", exc_info=True)

    def _roll_up(self, span: ReadableSpan, own: int, entry_point: bool) -> int:
        """The N+1 occurrences of ``span``'s descendants (in this process, ended before it);
        passes its own and theirs on to its parent unless it is an entry point (whose row
        counts them: a task's N+1 belongs to the task, not to the request that sent it)."""
        context = span.context
        parent = span.parent
        pending = self._n1_below
        with self._lock:
            below = pending.pop(context.span_id, 0) if pending and context is not None else 0
            total = own + below
            if total and not entry_point and parent is not None and not parent.is_remote:
                if len(pending) >= MAX_ROLLUP_PARENTS:
                    pending.clear()  # parents that never ended (bounded, not exact)
                pending[parent.span_id] = pending.get(parent.span_id, 0) + total
        return below

    def _user_hash(self, user: str) -> int:
        cache = self._user_hashes
        h = cache.get(user)
        if h is None:
            if len(cache) >= MAX_USER_HASHES:
                cache.clear()
            h = cache[user] = hash_user(user[:256])
        return h

    def _sample_error(self, span: ReadableSpan, key: Key, end: int) -> None:
        feature_key = (key[0], key[1], key[2])
        with self._lock:
            seen = self._error_counts.get(feature_key, 0)
            if seen >= MAX_ERRORS_PER_FEATURE or len(self._errors) >= MAX_ERRORS_PER_FLUSH:
                return
            self._error_counts[feature_key] = seen + 1
        sample = error_sample(span, key, end)
        with self._lock:
            self._errors.append(sample)

    # -- flushing ------------------------------------------------------------------------
    def _test_run_writer(self) -> Writer:
        return memory_counts

    def _backlog_limit(self) -> str:
        return f"{self.max_backlog_keys} keys"

    def pending(self) -> int:
        """Spans aggregated and not yet written (current window + backlog)."""
        with self._lock:
            current: int = sum(e[0] + e[8] for e in self._acc.values())
        backlog: int = sum(e[0] + (e[8] if len(e) > 10 else 0) for e in self._backlog.values())
        return current + backlog

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.flush()  # error groups still open stay open (decided at exit only)

    def _flush(self, final: bool) -> bool:
        """Write what is pending; ``False`` (and keep a bounded backlog) if writing failed."""
        with self._lock:
            acc, self._acc = self._acc, {}
            errors, self._errors = self._errors, []
            self._error_counts = {}
        self._add_autotrace_counts(acc)
        self._flush_groups(final)
        backlog = self._backlog
        for key, entry in acc.items():
            existing = backlog.get(key)
            if existing is None:
                backlog[key] = entry
            else:
                merge_entry(existing, entry)
        self._backlog_errors.extend(errors)
        del self._backlog_errors[:-MAX_ERRORS_PER_FLUSH]
        if not backlog and not self._backlog_errors:
            return True
        try:
            self._current_writer()(backlog, self._backlog_errors)
        except NotReady as exc:
            self._trim_backlog()
            self._wait(exc)
            return False
        except WriteIncomplete as exc:
            self._backlog, self._backlog_errors = exc.increments, exc.errors
            self._write_failed(exc.__cause__ or exc)
            return False
        except Exception as exc:
            self._write_failed(exc)
            return False
        self._backlog = {}
        self._backlog_errors = []
        self._edges.flush(memory=self.in_test_run)
        self._record_instrumented()
        self._recovered()
        return True

    def take_pending(self) -> Pending:
        """Everything counted and not written, taken out of this processor (handover.py)."""
        with self._flush_lock:
            with self._lock:
                acc, self._acc = self._acc, {}
                errors, self._errors = self._errors, []
                self._error_counts = {}
            self._add_autotrace_counts(acc)
            counts, self._backlog = self._backlog, {}
            for key, entry in acc.items():
                merge_entry(counts.setdefault(key, new_entry(entry[7])), entry)
            errors, self._backlog_errors = self._backlog_errors + errors, []
            return Pending(counts, errors, self._groups.take(self._service), self._edges.take())

    def add_pending(self, pending: Pending) -> None:
        """Counts another process took out (``take_pending``): this one writes them."""
        with self._lock:
            for key, entry in pending.counts.items():
                merge_entry(self._acc.setdefault(key, new_entry(entry[7])), entry)
            self._errors.extend(pending.errors)
        self._groups.add(pending.groups)
        self._edges.add_counts(pending.edges)

    def _flush_groups(self, everything: bool = False) -> None:
        try:
            writer = _groups.memory_groups if self.in_test_run and self._group_writer \
                else self._group_writer
            self._groups.flush(writer, self._service, everything)
        except Exception:  # the counters are written whatever happens to the groups
            logger.debug("tracekit: error groups flush failed", exc_info=True)

    def _record_instrumented(self) -> None:
        """Write which functions auto-tracing instrumented (the "unused code" page): when
        their number grew since the last time, and daily; never in a test run."""
        sites = call_counts.registered()
        if not self._default_writer or self.in_test_run or sites is None:
            return

        count, now = sites.site_count(), time.monotonic()
        done_count, done_at = self._instrumented_done
        if not count or (count == done_count and now - done_at < INSTRUMENTED_REFRESH_S):
            return
        try:
            from django_tracekit.destinations.stats.store import record_instrumented

            record_instrumented(self._service, sites.instrumented())
            self._instrumented_done = (count, now)
        except Exception as exc:  # counts are written; this list waits for the next flush
            logger.debug("tracekit: recording the instrumented functions failed: %s", exc)

    def _write_failed(self, exc: BaseException) -> None:
        self._trim_backlog()
        super()._write_failed(exc)

    def _add_autotrace_counts(self, acc: dict[Key, Entry]) -> None:
        """Auto-traced calls that did not become spans (faster than MIN_DURATION_MS) are
        counted by the rewritten code, not by spans: add them as ``function`` features.

        Calls exact; total and max exact in traces, estimated outside (docs/autotrace.md,
        "Counting"). Durations are not known one by one: they enter the histogram at their
        mean (percentiles of mostly-fast functions are approximate beyond its bound)."""
        counter = call_counts.registered()
        if counter is None:  # nothing instrumented
            return
        minute, service = real_clock.time_ns() // MINUTE_NS, self._service
        for name, (calls, total_ns, max_ns) in counter.drain_unspanned().items():
            key = (name, FUNCTION, service, minute)
            if key not in acc and len(acc) >= self.max_keys:
                key = (OTHER_FEATURE, FUNCTION, service, minute)
            merge_entry(acc.setdefault(key, new_entry(self._version)),
                         [calls, 0, total_ns, max_ns, {bucket_index(total_ns // calls): calls}, 0,
                          None, self._version, 0, 0, 0])

    def _trim_backlog(self) -> None:
        backlog = self._backlog
        excess = len(backlog) - self.max_backlog_keys
        if excess <= 0:
            return
        # Drop the oldest minutes: the recent past is what people look at first.
        for key in sorted(backlog, key=lambda k: k[3])[:excess]:
            self.dropped_spans += backlog.pop(key)[0]

    def unwritten(self) -> tuple[int, int]:
        """(calls, features) aggregated and not written: for the exit's one line. (0, 0)
        while waiting for ``migrate`` (kept in memory by design, not a failure)."""
        if self._waiting:
            return 0, 0
        with self._lock:
            keys = list(self._acc.items()) + list(self._backlog.items())
        return (sum(entry[0] for _, entry in keys),
                len({key[:3] for key, _ in keys}))


def _on_error(exc: BaseException, span: object) -> None:
    """The error listener: each processor of this process counts the error in its group."""
    for processor in StatsProcessor.processors():
        processor._groups.raised(exc, span)


def processors() -> list[StatsProcessor]:
    """The stats processors of this process."""
    return StatsProcessor.processors()


def flush_all(*, test_run_only: bool = False) -> bool:
    """Flush every stats processor of this process (``test_run_only``: only those writing
    to memory in a test run). Never raises."""
    return StatsProcessor.flush_all(test_run_only=test_run_only)
