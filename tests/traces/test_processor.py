"""The trace store's processor with real SDK providers: keep rules (error, slow, sample),
joining parts across two processors (two processes' worth), buffer bounds, outages and
test runs. Writers are in memory here; the database writer is in test_store*.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from django.db import OperationalError
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode

from django_tracekit.core.errors import ERROR_SPAN_ID, INCIDENT
from django_tracekit.core.sampling import RecordEverySampledOut
from django_tracekit.core.tracer import INSTRUMENTATION_NAME
from django_tracekit.destinations.traces import keep
from django_tracekit.destinations.traces.memory import MemoryTraces, memory_traces
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.destinations.traces.records import NotReady, Part


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Process:
    """One process's worth: a provider (service name, SAMPLE_RATE 0: nothing exported
    would be sampled) with a trace store processor writing to ``writer``."""

    def __init__(self, writer: object, service: str = "web", **options: object) -> None:
        self.clock = Clock()
        options.setdefault("sample_rate", 0.0)
        self.processor = TraceStoreProcessor(writer, start_thread=False,  # type: ignore[arg-type]
                                             clock=self.clock, **options)  # type: ignore[arg-type]
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service}),
            sampler=RecordEverySampledOut(ParentBased(TraceIdRatioBased(0.0))))
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer(INSTRUMENTATION_NAME)
        self.library = self.provider.get_tracer("opentelemetry.instrumentation.dbapi")

    def request(self, name: str = "GET /orders/", *, fail: bool = False, publish: bool = False,
                sql: int = 1, user: str | None = None, duration_ms: float = 10.0,
                parent: trace.SpanContext | None = None,
                kind: SpanKind | None = None) -> trace.SpanContext:
        """A request (SERVER root, a view span, SQL, maybe a Celery publish) or, with a
        ``parent`` (a message's context), a task (CONSUMER root); the publish span's context
        (what a message carries) or the root's. The root lasts ``duration_ms``."""
        ctx = None
        if parent is not None:  # as a message carries it: extracted, remote
            remote = trace.SpanContext(parent.trace_id, parent.span_id, is_remote=True,
                                       trace_flags=parent.trace_flags)
            ctx = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        kind = kind or (SpanKind.CONSUMER if parent else SpanKind.SERVER)
        carried = None
        start = time.time_ns()
        with self.tracer.start_as_current_span(name, context=ctx, kind=kind, start_time=start,
                                               end_on_exit=False) as root:
            if user:
                root.set_attribute("enduser.id", user)
            with self.tracer.start_as_current_span("shop/orders/views/detail") as view:
                for _ in range(sql):
                    with self.library.start_as_current_span(
                            "SELECT", kind=SpanKind.CLIENT, attributes={"db.system": "sqlite"}):
                        pass
                if publish:
                    with self.tracer.start_as_current_span(
                            "apply_async/shop.tasks.charge", kind=SpanKind.PRODUCER) as producer:
                        carried = producer.get_span_context()
                if fail:
                    view.set_status(Status(StatusCode.ERROR, "boom"))
            if fail:  # the exception escaped the request (500): the incident, as recorded
                root.set_status(Status(StatusCode.ERROR, "boom"))
                root.set_attributes({ERROR_SPAN_ID: format(view.get_span_context().span_id,
                                                           "016x"), INCIDENT: True})
            carried = carried or root.get_span_context()
        root.end(end_time=start + int(duration_ms * 1e6))
        return carried


def trace_hex(context: trace.SpanContext) -> str:
    return format(context.trace_id, "032x")


@pytest.fixture
def store() -> Iterator[MemoryTraces]:
    yield MemoryTraces()


def test_an_error_trace_at_sample_rate_0_is_kept_whole(store: MemoryTraces) -> None:
    web = Process(store)
    web.request(duration_ms=1_000)  # the feature's first and slowest: kept as "slow"
    ctx = web.request(fail=True, sql=3, user="42")
    assert web.processor.flush()
    part = store.traces()[trace_hex(ctx)]
    assert part.reasons == "error"
    names = sorted(s.name for s in part.spans)
    assert names == ["GET /orders/", "SELECT", "SELECT", "SELECT", "shop/orders/views/detail"]
    by_name = {s.name: s for s in part.spans}
    assert by_name["GET /orders/"].parent_span_id == ""
    assert by_name["shop/orders/views/detail"].parent_span_id == by_name["GET /orders/"].span_id
    assert by_name["shop/orders/views/detail"].is_error
    assert by_name["shop/orders/views/detail"].status_message == "boom"
    assert {s.service for s in part.spans} == {"web"}
    assert part.root_name == "GET /orders/" and part.user_id == "42"


def test_a_trace_that_is_not_kept_is_not_written(store: MemoryTraces) -> None:
    web = Process(store)
    web.request(sql=0, duration_ms=1_000)
    first = set(store.traces())
    web.processor.flush()
    ctx = web.request(sql=0)  # faster than... not slower than the first: not kept
    web.processor.force_flush()  # decides now (as at exit): the slowest of the two is kept
    assert trace_hex(ctx) not in store.traces()
    assert len(store.traces()) == 1 and not first  # the first one, kept as "slow"
    assert next(iter(store.traces().values())).reasons == "slow"
    # Nothing can join a request that only ran SQL: forgotten at once, not buffered; the
    # kept one left the buffer once written.
    assert web.processor.buffered() == (0, 0, 0)


def test_the_sample_is_the_same_in_every_process(store: MemoryTraces) -> None:
    web_store, worker_store = MemoryTraces(), MemoryTraces()
    web = Process(web_store, "web", sample_rate=0.3)
    worker = Process(worker_store, "worker", sample_rate=0.3)
    for _ in range(300):
        carried = web.request("GET /orders/", publish=True, sql=0)
        worker.request("shop/tasks/charge", parent=carried, sql=0)
    web.processor.flush()
    worker.processor.flush()

    def sampled(memory: MemoryTraces) -> set[str]:
        return {t for t, p in memory.traces().items() if "sample" in p.reasons}

    assert sampled(web_store) == sampled(worker_store)
    assert 50 < len(sampled(web_store)) < 130


def test_a_worker_part_that_fails_later_joins_the_web_part(store: MemoryTraces) -> None:
    web = Process(store, "web")
    worker = Process(store, "worker")
    # The firsts of their features (kept as slow): not the ones under test.
    worker.request("shop/tasks/charge", parent=web.request(publish=True, duration_ms=1_000),
                   duration_ms=1_000)
    web.processor.flush()
    worker.processor.flush()
    store.clear()

    carried = web.request("GET /orders/", publish=True, sql=1)
    web.processor.flush()  # the web part is not kept: nothing written, still buffered
    assert trace_hex(carried) not in store.traces()
    web.clock.now += 60
    worker.request("shop/tasks/charge", parent=carried, fail=True)
    worker.processor.flush()  # the worker keeps it (error) and writes its part
    web.processor.flush()  # the web process finds it kept and adds its part
    part = store.traces()[trace_hex(carried)]
    assert part.reasons == "error"
    by_name = {s.name: s for s in part.spans}
    assert {s.service for s in part.spans} == {"web", "worker"}
    assert by_name["shop/tasks/charge"].parent_span_id == by_name[
        "apply_async/shop.tasks.charge"].span_id
    assert by_name["shop/tasks/charge"].kind == "consumer"
    assert part.root_name == "GET /orders/"
    assert len(part.spans) == 7  # web: root, view, SQL, publish; worker: task, view, SQL


def test_a_part_is_joined_until_it_leaves_the_buffer(store: MemoryTraces) -> None:
    """How late a part can arrive: the web part stays ``buffer_s`` after its last span."""
    web = Process(store, "web", buffer_s=120.0)
    worker = Process(store, "worker")
    worker.request("shop/tasks/charge", parent=web.request("GET /a/", publish=True,
                                                           duration_ms=1_000),
                   duration_ms=1_000)
    for _ in range(2):  # with the first: the 3 slowest of the feature (slow candidates)
        web.request("GET /a/", sql=0, duration_ms=1_000)
    joined = web.request("GET /a/", publish=True, sql=0)
    late = web.request("GET /a/", publish=True, sql=0)
    web.processor.flush()
    worker.processor.flush()
    web.clock.now += 119.0
    worker.request("shop/tasks/charge", parent=joined, fail=True)
    worker.processor.flush()
    web.processor.flush()  # 119 s after the web part: still buffered, joined
    web.clock.now += 2.0
    worker.request("shop/tasks/charge", parent=late, fail=True)
    worker.processor.flush()
    web.processor.flush()  # 121 s: the web part expired at this flush, before asking
    traces = store.traces()
    assert {s.service for s in traces[trace_hex(joined)].spans} == {"web", "worker"}
    assert {s.service for s in traces[trace_hex(late)].spans} == {"worker"}


def test_a_task_part_waits_for_its_request_to_be_kept_slow_at_the_window_end(
        store: MemoryTraces) -> None:
    """A request is kept ``slow`` only when its 10-minute window ends, long after the
    120 s buffer: the task it sent (another process) is still held and joins it (trial 9:
    the kept trace showed the publish spans and none of the tasks)."""
    window = keep.WINDOW_NS
    first = time.time_ns() // window * window  # the window these spans start in
    web = Process(store, "web")
    worker = Process(store, "worker")
    web.processor.wall_clock_ns = worker.processor.wall_clock_ns = lambda: first + 10**9
    for _ in range(3):  # slower runs of the task: its own slow candidates, not this one
        worker.request("wger.trophies.evaluate", parent=web.request(
            "GET /other/", publish=True, sql=0), duration_ms=1_000)
    published = web.request("POST /workoutlog/", publish=True, sql=0, duration_ms=900)
    task = worker.request("wger.trophies.evaluate", parent=published)
    web.processor.flush()
    worker.processor.flush()
    assert store.traces() == {}  # one root, mid-window: nothing decided yet
    worker.clock.now += 300.0  # far beyond buffer_s: still held for the window
    worker.processor.flush()
    web.processor.wall_clock_ns = lambda: first + window + 10**9  # the window ended
    web.processor.flush()  # the request is its feature's slowest: kept slow
    worker.processor.flush()  # the task's part joins it
    kept = store.traces()[trace_hex(published)]
    assert {s.service for s in kept.spans} == {"web", "worker"}
    assert "slow" in kept.reasons and task.trace_id == published.trace_id


def test_a_request_under_a_remote_parent_is_not_held_for_the_window(
        store: MemoryTraces) -> None:
    """Only a task run's part waits for its window: a request carrying ``traceparent`` from
    an upstream service (a SERVER root under a remote parent) leaves after ``buffer_s``, or a
    web worker behind a traced proxy would hold every request for 10 minutes."""
    window = keep.WINDOW_NS
    first = time.time_ns() // window * window
    upstream = Process(store, "upstream")
    web = Process(store, "web")
    web.processor.wall_clock_ns = lambda: first + 10**9
    for _ in range(3):  # the feature's 3 slowest: candidates, held for their own decision
        web.request("GET /api/", parent=upstream.request(sql=0), kind=SpanKind.SERVER,
                    duration_ms=1_000)
    web.request("GET /api/", parent=upstream.request(sql=0), kind=SpanKind.SERVER)
    web.processor.flush()
    assert web.processor.buffered()[0] == 4
    web.clock.now += 300.0  # beyond buffer_s, within the window
    web.processor.flush()
    assert web.processor.buffered()[0] == 3


def test_a_task_part_is_held_no_longer_than_its_window_and_the_buffer(
        store: MemoryTraces) -> None:
    window = keep.WINDOW_NS
    first = time.time_ns() // window * window
    worker = Process(store, "worker")
    worker.processor.wall_clock_ns = lambda: first + 10**9
    web = Process(store, "web")
    for _ in range(3):  # the feature's 3 slowest: candidates, held for their own decision
        worker.request("shop/tasks/charge", parent=web.request(publish=True, sql=0),
                       duration_ms=1_000)
    worker.request("shop/tasks/charge", parent=web.request(publish=True, sql=0))
    worker.processor.flush()
    worker.clock.now += 300.0  # beyond buffer_s, within the window
    worker.processor.flush()
    assert worker.processor.buffered()[0] == 4
    worker.clock.now += window / 10**9  # past the window's end + buffer_s
    worker.processor.flush()
    assert worker.processor.buffered()[0] == 3


def test_the_buffer_is_bounded_in_traces_and_bytes_oldest_evicted_first(
        store: MemoryTraces) -> None:
    web = Process(store, max_buffered_traces=5)
    contexts = [web.request(f"GET /{i}/", publish=True, sql=0, duration_ms=1_000)
                for i in range(5)]
    web.processor.flush()  # the five firsts of their features are kept (slow) and written
    later = [web.request(f"GET /{i}/", publish=True, sql=0) for i in range(5)]
    more = [web.request(f"GET /{i}/", publish=True, sql=0) for i in range(3)]
    assert web.processor.buffered()[0] <= 5 and web.processor.evicted >= 3
    assert contexts and later and more

    big = Process(store, max_buffer_bytes=200_000)
    with big.tracer.start_as_current_span("GET /big/", kind=SpanKind.SERVER):
        for i in range(50):  # long texts: SQL statements and stacks
            with big.library.start_as_current_span("SELECT", kind=SpanKind.CLIENT, attributes={
                    "db.system.name": "sqlite", "db.query.text": "SELECT " + "x" * 10_000}):
                pass
            with big.tracer.start_as_current_span("step") as step:
                step.add_event("exception", {"exception.stacktrace": f"{i}" * 10_000})
    assert big.processor.buffered()[2] <= 200_000
    assert big.processor.dropped_spans >= 70  # one trace alone cannot exceed the bytes


def test_spans_beyond_max_spans_per_trace_are_counted_not_kept(store: MemoryTraces) -> None:
    web = Process(store, max_spans_per_trace=4)
    ctx = web.request(fail=True, sql=10)
    web.processor.flush()
    part = store.traces()[trace_hex(ctx)]
    assert len(part.spans) == 4
    assert part.dropped == 8  # 12 spans ended (root, view, 10 SQL): 4 kept


def test_an_outage_keeps_a_bounded_backlog_logs_once_and_writes_once_back(
        caplog: pytest.LogCaptureFixture) -> None:
    class Flaky(MemoryTraces):
        down = True

        def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
            if self.down:
                raise OperationalError("could not connect to server")
            return super().write(parts, max_spans_per_trace)

    writer = Flaky()
    web = Process(writer, max_backlog_traces=3)
    ids = [trace_hex(web.request(f"GET /{i}/", fail=True)) for i in range(5)]
    with caplog.at_level(logging.WARNING, logger="django_tracekit"):
        assert not web.processor.flush()
        assert not web.processor.flush()
    failures = [r for r in caplog.records if "writing kept traces failed" in r.getMessage()]
    assert len(failures) == 1
    assert web.processor.backlog() == 3 and web.processor.lost_parts == 2
    writer.down = False
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django_tracekit"):
        assert web.processor.flush()
    assert "works again" in caplog.text
    assert set(writer.traces()) == set(ids[2:])  # the newest three, once
    assert all(len(p.spans) == 3 for p in writer.traces().values())


def test_not_ready_waits_quietly(caplog: pytest.LogCaptureFixture) -> None:
    class Missing(MemoryTraces):
        def kept(self, trace_ids: list[str]) -> set[str]:
            raise NotReady("its tables are not in database 'default' yet: run migrate")

        def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
            raise NotReady("its tables are not in database 'default' yet: run migrate")

    web = Process(Missing())
    web.request(fail=True)
    with caplog.at_level(logging.INFO, logger="django_tracekit"):
        assert web.processor.flush()  # waiting is not failing
        assert web.processor.flush()
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert web.processor.backlog() == 1


def test_a_broken_span_never_reaches_the_application(store: MemoryTraces) -> None:
    web = Process(store)
    web.processor.on_end(object())  # type: ignore[arg-type]
    web.request(fail=True)
    assert web.processor.flush()
    assert len(store.traces()) == 1


@pytest.mark.django_db
def test_in_a_test_run_the_default_writer_writes_to_memory_not_the_database() -> None:
    from django_tracekit.storage.trace_models import Trace

    memory_traces.clear()
    processor = TraceStoreProcessor(sample_rate=1.0)  # the default (database) writer
    try:
        assert processor.in_test_run and processor.thread is None
        provider = TracerProvider()
        provider.add_span_processor(processor)
        with provider.get_tracer(INSTRUMENTATION_NAME).start_as_current_span(
                "GET /x/", kind=SpanKind.SERVER) as root:
            ctx = root.get_span_context()
        assert processor.flush()
        assert trace_hex(ctx) in memory_traces.traces()
        assert Trace.objects.count() == 0
    finally:
        processor.shutdown()
        memory_traces.clear()


def test_the_flusher_thread_suppresses_instrumentation_of_its_own_queries() -> None:
    seen: list[object] = []

    class Probe(MemoryTraces):
        def kept(self, trace_ids: list[str]) -> set[str]:
            seen.append(otel_context.get_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY))
            return set()

    processor = TraceStoreProcessor(Probe(), flush_interval_s=0.01, sample_rate=0.0)
    try:
        provider = TracerProvider()
        provider.add_span_processor(processor)
        tracer = provider.get_tracer(INSTRUMENTATION_NAME)
        with tracer.start_as_current_span("GET /x/", kind=SpanKind.SERVER), \
                tracer.start_as_current_span("p", kind=SpanKind.PRODUCER):
            pass
        with tracer.start_as_current_span("GET /x/", kind=SpanKind.SERVER), \
                tracer.start_as_current_span("p", kind=SpanKind.PRODUCER):
            pass  # second of the feature: not kept, joinable: asked about
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen and seen[0] is True
    finally:
        processor.shutdown()


def test_a_forked_child_starts_empty_with_its_own_flusher(store: MemoryTraces) -> None:
    import os

    processor = TraceStoreProcessor(store, flush_interval_s=3600, sample_rate=0.0)
    try:
        provider = TracerProvider()
        provider.add_span_processor(processor)
        tracer = provider.get_tracer(INSTRUMENTATION_NAME)
        with tracer.start_as_current_span("GET /x/", kind=SpanKind.SERVER) as root:
            root.set_status(Status(StatusCode.ERROR))
        assert processor.buffered()[0] == 1
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: nothing of the parent's, a flusher of its own
            thread = processor.thread
            ok = (processor.buffered() == (0, 0, 0) and thread is not None
                  and thread.is_alive() and processor.backlog() == 0)
            os.write(write, b"ok" if ok else b"no")
            os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 2) == b"ok"
        assert processor.buffered()[0] == 1  # the parent still holds (and writes) its own
        assert processor.flush() and len(store.traces()) == 1
    finally:
        processor.shutdown()


def test_a_span_ending_after_its_kept_trace_was_written_is_added(store: MemoryTraces) -> None:
    web = Process(store)
    tracer = web.tracer
    root = tracer.start_span("GET /stream/", kind=SpanKind.SERVER)
    late = tracer.start_span("shop/stream/body", trace.set_span_in_context(root))
    root.set_status(Status(StatusCode.ERROR))
    root.end()  # the response is sent; its body's span is still open
    web.processor.flush()
    trace_id = trace_hex(root.get_span_context())
    assert [s.name for s in store.traces()[trace_id].spans] == ["GET /stream/"]
    late.end()
    web.processor.flush()
    assert sorted(s.name for s in store.traces()[trace_id].spans) == [
        "GET /stream/", "shop/stream/body"]


def test_an_unmatched_request_is_the_feature_the_usage_pages_name(store: MemoryTraces) -> None:
    web = Process(store)
    with web.tracer.start_as_current_span(
            "GET", kind=SpanKind.SERVER, attributes={"http.request.method": "GET"}) as root:
        root.set_status(Status(StatusCode.ERROR, "boom"))
    assert web.processor.flush()
    (part,) = store.traces().values()
    assert part.root_name == "GET (unmatched)"  # as the stats count it: one clear feature
    assert [s.name for s in part.spans] == ["GET"]  # the span keeps its semconv name
