"""The local destinations' scaffolding, written once (storage/flushing.py, storage/writer.py),
and the behaviours the stats and the trace store had drifted on, now the same for both:

- every flush runs with the suppress key (tracekit's own queries never become spans), in
  the flusher thread and in a thread that flushes inline;
- ``flush()`` and ``flush_all()`` never raise;
- a transaction is retried whole on OperationalError (deadlock, lock wait) and once on
  IntegrityError (a stale cached state), never counting anything twice;
- the after-fork reset goes through core.lifecycle.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, OperationalError
from django.db.models import Sum
from opentelemetry import context as otel_context

from django_tracekit.core import lifecycle
from django_tracekit.destinations.stats import store as stats_store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.traces import store as trace_store
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.destinations.traces.records import Part, SpanRow
from django_tracekit.storage import writer
from django_tracekit.storage.flusher import SUPPRESS_KEY
from django_tracekit.storage.trace_models import TraceSpan
from django_tracekit.storage.usage_models import FeatureStats

MS = 1_000_000


class SeesSuppression:
    """A writer for either processor that notes whether the suppress key was set."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    def __call__(self, increments: Any, errors: Any) -> int:  # the stats' writer
        self.seen.append(otel_context.get_value(SUPPRESS_KEY))
        return len(increments)

    def kept(self, trace_ids: list[str]) -> set[str]:  # the trace store's writer
        self.seen.append(otel_context.get_value(SUPPRESS_KEY))
        return set()

    def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
        self.seen.append(otel_context.get_value(SUPPRESS_KEY))
        return 0

    def trim(self, max_traces: int) -> int:
        return 0

    def settle_slow(self, *args: object) -> None:
        return None


def _stats(writer_: Any) -> StatsProcessor:
    processor = StatsProcessor(writer_, start_thread=False)
    processor._acc[("shop/a", "function", "web", 1)] = [1, 0, MS, MS, {}, 0, None, "", 0, 0, 0]
    return processor


def _traces(writer_: Any) -> TraceStoreProcessor:
    processor = TraceStoreProcessor(writer_, start_thread=False)
    processor._backlog["0" * 31 + "1"] = Part("0" * 31 + "1", "error", [])
    return processor


@pytest.mark.parametrize("make", [_stats, _traces], ids=["stats", "traces"])
def test_an_inline_flush_runs_with_the_suppress_key(make: Any) -> None:
    seen = SeesSuppression()
    processor = make(seen)
    token = otel_context.attach(otel_context.set_value(SUPPRESS_KEY, None))  # as in a request
    try:
        assert processor.flush()
        assert otel_context.get_value(SUPPRESS_KEY) is None  # detached afterwards
    finally:
        otel_context.detach(token)
    assert seen.seen and all(value is True for value in seen.seen)


@pytest.mark.parametrize("kind", [StatsProcessor, TraceStoreProcessor], ids=["stats", "traces"])
def test_flush_and_flush_all_never_raise(kind: Any) -> None:
    class Isolated(kind):  # type: ignore[misc,valid-type]
        """A live set of its own: processors of other tests stay out of flush_all."""

    kind = Isolated
    processor = kind(SeesSuppression(), start_thread=False)

    def broken(final: bool) -> bool:
        raise RuntimeError("a bug in a flush")

    processor._flush = broken
    assert processor.flush() is False
    assert kind.flush_all() is False  # this one failed; nothing raised
    processor._flush = lambda final: True
    assert kind.flush_all() is True


@pytest.mark.parametrize("make", [_stats, _traces], ids=["stats", "traces"])
def test_the_after_fork_reset_goes_through_the_lifecycle(make: Any) -> None:
    processor = make(SeesSuppression())
    assert processor in type(processor).processors()
    lifecycle.run_after_fork_in_child()  # what a forked child runs
    assert (processor.pending() if isinstance(processor, StatsProcessor)
            else processor.backlog()) == 0
    assert processor in type(processor).processors()


@pytest.mark.django_db
def test_retrying_retries_an_integrity_error_once_then_gives_up() -> None:
    calls: list[int] = []
    forgotten: list[int] = []

    def once_stale() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("a cached id names no row")
        return 7

    assert writer.retrying("default", once_stale, before_retry=lambda: forgotten.append(1)) == 7
    assert (len(calls), len(forgotten)) == (2, 1)

    def always_bad() -> int:
        calls.append(1)
        raise IntegrityError("the data itself")

    calls.clear()
    with pytest.raises(IntegrityError):
        writer.retrying("default", always_bad)
    assert len(calls) == 2  # the data's fault: isolated by the caller, not retried on


@pytest.mark.django_db
def test_retrying_retries_a_deadlock_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer.time, "sleep", lambda s: None)
    calls: list[int] = []

    def deadlocked() -> int:
        calls.append(1)
        raise OperationalError("deadlock detected")

    with pytest.raises(OperationalError):
        writer.retrying("default", deadlocked)
    assert len(calls) == writer.RETRIES
    calls.clear()

    def value_error() -> int:
        calls.append(1)
        raise ValueError("not a database error")

    with pytest.raises(ValueError):
        writer.retrying("default", value_error)
    assert len(calls) == 1


def _fail_first_attempt(monkeypatch: pytest.MonkeyPatch, module: Any, error: Exception) -> None:
    real = module._write
    attempts: list[int] = []

    def first_fails(*args: Any) -> Any:
        result = real(*args)  # written, then the transaction is rolled back by the error
        attempts.append(1)
        if len(attempts) == 1:
            raise error
        return result

    monkeypatch.setattr(module, "_write", first_fails)


@pytest.mark.django_db
@pytest.mark.parametrize("error", [IntegrityError("stale"), OperationalError("deadlock")],
                         ids=["integrity", "deadlock"])
def test_the_stats_store_retries_and_counts_once(monkeypatch: pytest.MonkeyPatch,
                                                 error: Exception) -> None:
    stats_store.clear_cache()
    monkeypatch.setattr(writer.time, "sleep", lambda s: None)
    _fail_first_attempt(monkeypatch, stats_store, error)
    stats_store.write({("shop/a", "function", "web", 29_000_000): [3, 1, 3 * MS, MS, {}]})
    # An old minute (before the compaction watermark): its minute, hour, day and week rows.
    assert FeatureStats.objects.aggregate(n=Sum("calls"))["n"] == 3 * 4  # counted once
    assert stats_store.rejected["calls"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("error", [IntegrityError("stale"), OperationalError("deadlock")],
                         ids=["integrity", "deadlock"])
def test_the_trace_store_retries_and_writes_once(monkeypatch: pytest.MonkeyPatch,
                                                 error: Exception) -> None:
    trace_store.clear_cache()
    monkeypatch.setattr(writer.time, "sleep", lambda s: None)
    _fail_first_attempt(monkeypatch, trace_store, error)
    rejected = dict(trace_store.rejected)
    span = SpanRow("0" * 15 + "1", "", "GET /", "server", "web", 1_764_000_000_000_000, 1_000,
                   False, "", "", "")
    assert trace_store.write([Part("0" * 31 + "2", "sample", [span], root_name="GET /")]) == 1
    assert TraceSpan.objects.count() == 1
    assert dict(trace_store.rejected) == rejected  # retried, not isolated
