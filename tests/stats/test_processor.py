"""The aggregating processor: what it counts, exactly, under threads, caps, outages, fork."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

import django_tracekit as tracekit
from django_tracekit.core.sampling import RecordSampledOut
from django_tracekit.destinations.stats.processor import (
    StatsProcessor,
    memory_counts,
)
from django_tracekit.destinations.stats.records import (
    OTHER_FEATURE,
    ErrorSample,
    NotReady,
    WriteIncomplete,
)


class Capture:
    """A writer that keeps what it was given (or fails while `down` is set)."""

    def __init__(self) -> None:
        self.totals: dict[tuple[str, str], list[int]] = {}
        self.errors: list[ErrorSample] = []
        self.down = False
        self.fail_with: Exception | None = None
        self.calls = 0

    def __call__(self, increments: Mapping[Any, Any], errors: Sequence[ErrorSample]) -> int:
        self.calls += 1
        if self.down:
            raise ConnectionError("database is down")
        if self.fail_with is not None:
            raise self.fail_with
        for (feature, kind, _service, _minute), entry in increments.items():
            row = self.totals.setdefault((feature, kind), [0, 0])
            row[0] += entry[0]
            row[1] += entry[1]
        self.errors.extend(errors)
        return len(increments)


def make(sampler: Any = None, **kwargs: Any) -> tuple[TracerProvider, StatsProcessor, Capture]:
    capture = Capture()
    processor = StatsProcessor(capture, start_thread=False, **kwargs)
    provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
    provider.add_span_processor(processor)
    return provider, processor, capture


def test_counts_requests_tasks_and_our_functions_only() -> None:
    provider, processor, capture = make()
    ours = provider.get_tracer("django_tracekit")
    other = provider.get_tracer("opentelemetry.instrumentation.redis")
    for _ in range(3):
        with ours.start_as_current_span("GET /orders/<int:pk>/", kind=SpanKind.SERVER), \
                ours.start_as_current_span("shop/orders/views/detail"):
            # library spans (CLIENT, or INTERNAL of another scope) are not features
            other.start_span("GET", kind=SpanKind.CLIENT).end()
            other.start_span("redis.internal").end()
            ours.start_span("publish", kind=SpanKind.PRODUCER).end()
    ours.start_span("shop/tasks/send_mail", kind=SpanKind.CONSUMER).end()
    ours.start_span("shop/tasks/resize", attributes={"messaging.system": "celery"}).end()
    # Another library's SERVER/CONSUMER spans are requests/tasks all the same.
    other.start_span("worker", kind=SpanKind.CONSUMER).end()
    assert processor.flush()
    assert capture.totals == {
        ("GET /orders/<int:pk>/", "request"): [3, 0],
        ("shop/orders/views/detail", "function"): [3, 0],
        ("shop/tasks/send_mail", "task"): [1, 0],
        ("shop/tasks/resize", "task"): [1, 0],
        ("worker", "task"): [1, 0],
    }


def test_errors_counted_and_sampled_with_stack_and_trace_id() -> None:
    provider, processor, capture = make()
    tracer = provider.get_tracer("django_tracekit")
    with tracer.start_as_current_span("GET /pay/", kind=SpanKind.SERVER) as server, \
            tracer.start_as_current_span("shop/pay/charge") as inner:
        try:
            raise ValueError("card declined")
        except ValueError as exc:
            tracekit.record_error(exc, inner)
            tracekit.record_error(exc, server)  # enclosing span: a reference only
    assert processor.flush()
    assert capture.totals == {("GET /pay/", "request"): [1, 1],
                              ("shop/pay/charge", "function"): [1, 1]}
    by_feature = {e.feature: e for e in capture.errors}
    charge, pay = by_feature["shop/pay/charge"], by_feature["GET /pay/"]
    assert charge.type == "ValueError" and charge.message == "card declined"
    assert "test_errors_counted_and_sampled_with_stack_and_trace_id" in charge.stacktrace
    assert charge.trace_id == format(inner.get_span_context().trace_id, "032x")
    assert charge.span_id == format(inner.get_span_context().span_id, "016x")
    # The enclosing span has no copy of the stack, but says where it is.
    assert pay.stacktrace == "" and pay.stack_span_id == charge.span_id


def test_sampled_out_spans_are_counted_but_not_sampled() -> None:
    # Ratio 0: nothing sampled; the wrapper makes the spans record so they are counted.
    sampler = RecordSampledOut(ParentBased(TraceIdRatioBased(0.0)))
    provider, processor, capture = make(sampler)
    tracer = provider.get_tracer("django_tracekit")
    for _ in range(5):
        with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER) as span:
            assert not span.get_span_context().trace_flags.sampled  # exporters skip it
            with tracer.start_as_current_span("shop/views/index",
                                              attributes={"code.function.name": "x"}) as child:
                assert child.attributes is not None
                assert dict(child.attributes) == {"code.function.name": "x"}  # kept
            # CLIENT spans stay non-recording (cheap): not counted anyway
            assert not tracer.start_span("db", kind=SpanKind.CLIENT).is_recording()
    assert processor.flush()
    assert capture.totals == {("GET /", "request"): [5, 0],
                              ("shop/views/index", "function"): [5, 0]}


def test_without_the_wrapper_sampled_out_spans_are_invisible() -> None:
    # Why the wrapper exists: the SDK never calls on_end for a dropped span.
    provider, processor, capture = make(ParentBased(ALWAYS_OFF))
    provider.get_tracer("django_tracekit").start_span("GET /", kind=SpanKind.SERVER).end()
    assert processor.flush()
    assert capture.totals == {}


def test_exact_under_concurrent_threads() -> None:
    provider, processor, capture = make()
    tracer = provider.get_tracer("django_tracekit")
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        for i in range(3_000):
            tracer.start_span(f"f{i % 3}").end()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    # Flush concurrently with the writers: nothing lost or counted twice across swaps.
    while any(t.is_alive() for t in threads):
        processor.flush()
    for t in threads:
        t.join()
    processor.flush()
    assert capture.totals == {("f0", "function"): [8_000, 0], ("f1", "function"): [8_000, 0],
                              ("f2", "function"): [8_000, 0]}


def test_cardinality_cap_overflows_into_other() -> None:
    provider, processor, capture = make(max_keys=10)
    tracer = provider.get_tracer("django_tracekit")
    for i in range(50):
        tracer.start_span(f"dynamic/{i}").end()
        tracer.start_span(f"dynamic/{i}").end()
    assert processor.flush()
    named = {k: v for k, v in capture.totals.items() if k[0] != OTHER_FEATURE}
    # The first 10 keys (a minute boundary can take one) keep their names; the rest is
    # counted, exactly, under "(other)".
    assert 9 <= len(named) <= 10
    assert sum(v[0] for v in capture.totals.values()) == 100
    assert capture.totals[(OTHER_FEATURE, "function")][0] == 100 - 2 * len(named)


def test_outage_keeps_a_bounded_backlog_logs_once_and_recovers_exactly(
        caplog: pytest.LogCaptureFixture) -> None:
    provider, processor, capture = make()
    tracer = provider.get_tracer("django_tracekit")
    capture.down = True
    with caplog.at_level(logging.WARNING, logger="django_tracekit"):
        for _ in range(3):
            tracer.start_span("a").end()
            assert processor.flush() is False
    failures = [r for r in caplog.records if "writing feature-usage stats failed" in r.message]
    assert len(failures) == 1  # logged once, not once per interval
    assert processor.pending() == 3
    capture.down = False
    assert processor.flush() is True
    assert capture.totals == {("a", "function"): [3, 0]}  # nothing lost, nothing twice
    assert processor.pending() == 0
    assert processor.flush() is True and capture.totals == {("a", "function"): [3, 0]}


def test_backlog_cap_drops_the_oldest_minutes() -> None:
    provider, processor, capture = make(max_backlog_keys=2)
    capture.down = True
    tracer = provider.get_tracer("django_tracekit")
    minute = 60_000_000_000
    base = (time.time_ns() // minute) * minute
    for m in range(4):  # four distinct minutes, two calls each
        for _ in range(2):
            tracer.start_span("a", start_time=base + m * minute).end(
                end_time=base + m * minute + 1000)
        processor.flush()
    assert processor.pending() == 4 and processor.dropped_spans == 4
    capture.down = False
    assert processor.flush()
    assert capture.totals == {("a", "function"): [4, 0]}


def test_background_thread_flushes_on_the_interval() -> None:
    capture = Capture()
    processor = StatsProcessor(capture, flush_interval_s=0.05)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    provider.get_tracer("django_tracekit").start_span("bg").end()
    deadline = time.monotonic() + 5
    while not capture.totals and time.monotonic() < deadline:
        time.sleep(0.01)
    assert capture.totals == {("bg", "function"): [1, 0]}
    assert processor.thread is not None and processor.thread.daemon
    processor.shutdown()
    assert not processor.thread.is_alive()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_starts_empty_with_its_own_thread() -> None:
    capture = Capture()
    processor = StatsProcessor(capture, flush_interval_s=3600)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    provider.get_tracer("django_tracekit").start_span("before-fork").end()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the parent's pending count must not be written again from here
        ok = (processor.pending() == 0 and processor.thread is not None
              and processor.thread.is_alive())
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert processor.pending() == 1  # the parent keeps (and writes) its own
    processor.shutdown()
    assert capture.totals == {("before-fork", "function"): [1, 0]}


def test_a_writer_not_ready_keeps_the_counts_quietly(caplog: pytest.LogCaptureFixture) -> None:
    provider, processor, capture = make()
    tracer = provider.get_tracer("django_tracekit")
    capture.fail_with = NotReady("tables not migrated")
    with caplog.at_level(logging.DEBUG, logger="django_tracekit"):
        for _ in range(3):
            tracer.start_span("a").end()
            assert processor.flush() is False
    assert [r.levelname for r in caplog.records] == ["INFO"]  # one line, no warning
    assert "tables not migrated" in caplog.records[0].message
    assert caplog.records[0].exc_info is None
    capture.fail_with = None
    assert processor.flush() is True
    assert capture.totals == {("a", "function"): [3, 0]}


def test_a_write_failure_is_one_line_without_a_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    provider, processor, capture = make()
    capture.down = True
    provider.get_tracer("django_tracekit").start_span("a").end()
    with caplog.at_level(logging.WARNING, logger="django_tracekit"):
        assert processor.flush() is False
    (record,) = caplog.records
    assert "ConnectionError: database is down" in record.getMessage()
    assert record.exc_info is None


def test_an_incomplete_write_keeps_only_what_was_not_written() -> None:
    provider, processor, capture = make()
    tracer = provider.get_tracer("django_tracekit")
    for name in ("a", "b", "b"):
        tracer.start_span(name).end()

    def half(increments: dict[Any, Any], errors: Sequence[ErrorSample]) -> int:
        written = {k: v for k, v in increments.items() if k[0] == "a"}
        capture(written, errors)
        left = {k: v for k, v in increments.items() if k[0] != "a"}
        raise WriteIncomplete(left, []) from ConnectionError("connection lost")

    processor._writer = half
    assert processor.flush() is False
    assert processor.pending() == 2  # "b" only: "a" is committed
    processor._writer = capture
    assert processor.flush() is True
    assert capture.totals == {("a", "function"): [1, 0], ("b", "function"): [2, 0]}


def test_default_writer_in_a_test_run_writes_to_memory_without_a_thread() -> None:
    # This suite runs under pytest-django: a test run.
    processor = StatsProcessor(flush_interval_s=0.01)
    assert processor.in_test_run and processor.thread is None
    provider = TracerProvider()
    provider.add_span_processor(processor)
    before, _ = memory_counts.snapshot()
    provider.get_tracer("django_tracekit").start_span("in-memory").end()
    assert processor.flush() is True  # no database query (pytest-django would refuse it)
    after, _ = memory_counts.snapshot()
    (key,) = [k for k in after if k[0] == "in-memory"]
    assert after[key][0] - (before[key][0] if key in before else 0) == 1
    # An explicit writer is used as given, test run or not.
    assert not StatsProcessor(Capture(), start_thread=False).in_test_run


def test_users_unmatched_requests_and_the_version_from_the_resource() -> None:
    from opentelemetry.sdk.resources import Resource

    seen: list[dict[Any, Any]] = []
    processor = StatsProcessor(lambda inc, err: seen.append(dict(inc)), start_thread=False)
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "shop-web", "service.version": "2.4.1"}))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("django_tracekit")
    for user in ("7", "8", "7", None):
        span = tracer.start_span("GET /cart/", kind=SpanKind.SERVER,
                                 attributes={"http.request.method": "GET",
                                             "http.route": "/cart/"})
        if user is not None:
            span.set_attribute("enduser.id", user)
        span.end()
    # No route (404, or answered before URL resolution): one clear feature.
    tracer.start_span("GET", kind=SpanKind.SERVER,
                      attributes={"http.request.method": "GET"}).end()
    # Another instrumentation's server span without HTTP attributes keeps its name.
    tracer.start_span("grpc.Health/Check", kind=SpanKind.SERVER).end()
    assert processor.flush()
    (batch,) = seen
    entries = {key[0]: entry for key, entry in batch.items()}
    assert set(entries) == {"GET /cart/", "GET (unmatched)", "grpc.Health/Check"}
    cart = entries["GET /cart/"]
    assert cart[0] == 4 and cart[6].estimate() == 2 and cart[7] == "2.4.1"
    assert entries["GET (unmatched)"][6] is None  # no user seen: nothing stored
    assert {key[2] for key in batch} == {"shop-web"}


def test_users_sketch_memory_is_bounded_per_key() -> None:
    provider, processor, _ = make()
    tracer = provider.get_tracer("django_tracekit")
    for i in range(5_000):
        tracer.start_span("GET /feed/", kind=SpanKind.SERVER,
                          attributes={"enduser.id": str(i)}).end()
    (entry,) = processor._acc.values()
    users = entry[6]
    # Beyond the exact form: fixed-size registers, whatever the number of users.
    assert users.exact is None and len(users.registers) == 8192
    assert abs(users.estimate() / 5_000 - 1) <= 0.04
    assert len(processor._user_hashes) <= 10_000


@pytest.mark.django_db
def test_a_test_run_records_no_instrumented_functions() -> None:
    from django_tracekit.sources.autotrace import sites
    from django_tracekit.storage.usage_models import InstrumentedFunction

    sites.new_site("shop.orders", "never_called", "/srv/shop/orders.py", 1)
    processor = StatsProcessor(start_thread=False)  # the default (database) writer
    assert processor.in_test_run  # pytest-django: counts go to memory...
    provider = TracerProvider()
    provider.add_span_processor(processor)
    provider.get_tracer("django_tracekit").start_span("shop/f").end()
    assert processor.flush()
    assert not InstrumentedFunction.objects.exists()  # ...and nothing reaches the database
