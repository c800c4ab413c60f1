"""The aggregation: spans of each kind -> the spanmetrics instruments, before sampling,
with bounded cardinality and one series set per process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    NumberDataPoint,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode

from django_tracekit.core.features import FEATURE_KIND
from django_tracekit.core.sampling import RecordSampledOut
from django_tracekit.core.tracer import INSTRUMENTATION_NAME
from django_tracekit.destinations.metrics import CALLS, DURATION, DURATION_BOUNDS_MS
from django_tracekit.destinations.metrics.processor import MetricsProcessor, periodic_readers


class Harness:
    def __init__(self, kinds: tuple[str, ...] = ("request", "task", "command"),
                 max_features: int = 2_000, sample_rate: float = 0.0) -> None:
        self.readers: list[InMemoryMetricReader] = []
        self.processor = MetricsProcessor(self._make, kinds, max_features=max_features)
        self.provider = TracerProvider(
            sampler=RecordSampledOut(ParentBased(TraceIdRatioBased(sample_rate))),
            resource=Resource.create({"service.name": "shop-web"}), shutdown_on_exit=False)
        self.provider.add_span_processor(self.processor)
        self.ours = self.provider.get_tracer(INSTRUMENTATION_NAME)
        self.library = self.provider.get_tracer("some.library")

    def _make(self) -> list[InMemoryMetricReader]:
        reader = InMemoryMetricReader()
        self.readers.append(reader)
        return [reader]

    def points(self, name: str) -> dict[tuple[str, ...], Any]:
        """Data points of metric ``name`` by (span.name, kind, status.code)."""
        found: dict[tuple[str, ...], Any] = {}
        data = self.readers[-1].get_metrics_data()
        assert data is not None
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        a = point.attributes
                        found[(a["span.name"], a[FEATURE_KIND], a["status.code"])] = point
        return found

    def resource(self) -> dict[str, Any]:
        data = self.readers[-1].get_metrics_data()
        assert data is not None
        return dict(data.resource_metrics[0].resource.attributes)


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.provider.shutdown()


def calls(h: Harness) -> dict[tuple[str, ...], int]:
    points: dict[tuple[str, ...], NumberDataPoint] = h.points(CALLS)
    return {k: int(p.value) for k, p in points.items()}


def test_counts_every_kind_before_sampling(harness: Harness) -> None:
    for _ in range(3):
        with harness.library.start_as_current_span(
                "GET orders/<int:pk>/", kind=SpanKind.SERVER,
                attributes={"http.route": "orders/<int:pk>/", "http.request.method": "GET"}):
            with harness.ours.start_as_current_span("shop/views/order"):  # a function
                pass
            with harness.library.start_as_current_span("SELECT", kind=SpanKind.CLIENT):
                pass
    with harness.library.start_as_current_span("shop/tasks/charge", kind=SpanKind.CONSUMER) as s:
        s.set_status(Status(StatusCode.ERROR))
    with harness.ours.start_as_current_span("manage.py migrate",
                                            attributes={FEATURE_KIND: "command"}):
        pass
    assert calls(harness) == {
        ("GET orders/<int:pk>/", "request", "STATUS_CODE_UNSET"): 3,
        ("shop/tasks/charge", "task", "STATUS_CODE_ERROR"): 1,
        ("manage.py migrate", "command", "STATUS_CODE_UNSET"): 1,
    }


def test_attributes_are_the_spanmetrics_ones(harness: Harness) -> None:
    with harness.library.start_as_current_span("shop/tasks/encode", kind=SpanKind.CONSUMER):
        pass
    (point,) = harness.points(CALLS).values()
    assert dict(point.attributes) == {
        "service.name": "shop-web", "span.name": "shop/tasks/encode",
        "span.kind": "SPAN_KIND_CONSUMER", "status.code": "STATUS_CODE_UNSET",
        FEATURE_KIND: "task"}
    resource = harness.resource()
    assert resource["service.name"] == "shop-web"
    assert len(resource["service.instance.id"]) == 36


def test_duration_histogram_in_ms_with_spanmetrics_buckets(harness: Harness) -> None:
    start = 1_000_000_000
    for ms in (1, 5, 300):
        span = harness.library.start_span("GET a/", kind=SpanKind.SERVER, start_time=start,
                                          attributes={"http.route": "a/"})
        span.end(end_time=start + ms * 1_000_000)
    point: HistogramDataPoint = harness.points(DURATION)[("GET a/", "request",
                                                           "STATUS_CODE_UNSET")]
    assert tuple(point.explicit_bounds) == DURATION_BOUNDS_MS
    assert point.count == 3
    assert point.sum == pytest.approx(306.0)
    assert point.bucket_counts[0] == 1 and point.bucket_counts[2] == 1  # <=2 ms, <=6 ms
    assert point.bucket_counts[DURATION_BOUNDS_MS.index(400.0)] == 1


def test_unmatched_urls_are_one_feature(harness: Harness) -> None:
    for path in ("/a", "/b", "/wp-admin.php"):
        with harness.library.start_as_current_span(
                "GET", kind=SpanKind.SERVER,
                attributes={"http.request.method": "GET", "url.path": path}):
            pass
    assert calls(harness) == {("GET (unmatched)", "request", "STATUS_CODE_UNSET"): 3}


def test_kinds_setting_selects_what_is_counted() -> None:
    h = Harness(kinds=("function",))
    with h.library.start_as_current_span("GET a/", kind=SpanKind.SERVER), \
            h.ours.start_as_current_span("shop/views/a"):
        pass
    assert calls(h) == {("shop/views/a", "function", "STATUS_CODE_UNSET"): 1}


def test_a_retried_task_attempt_is_not_a_call(harness: Harness) -> None:
    with harness.library.start_as_current_span("shop/tasks/flaky", kind=SpanKind.CONSUMER,
                                               attributes={"celery.state": "RETRY"}):
        pass
    with harness.library.start_as_current_span("shop/tasks/flaky", kind=SpanKind.CONSUMER,
                                               attributes={"celery.state": "SUCCESS"}):
        pass
    assert calls(harness) == {("shop/tasks/flaky", "task", "STATUS_CODE_UNSET"): 1}


def test_cardinality_is_bounded() -> None:
    h = Harness(max_features=3)
    for i in range(10):
        with h.library.start_as_current_span(f"shop/tasks/t{i}", kind=SpanKind.CONSUMER):
            pass
    counted = calls(h)
    assert sum(counted.values()) == 10
    assert counted[("(other)", "task", "STATUS_CODE_UNSET")] == 7
    assert len(counted) == 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_has_its_own_series_and_never_the_parents_counts() -> None:
    h = Harness()
    with h.library.start_as_current_span("shop/tasks/a", kind=SpanKind.CONSUMER):
        pass
    parent_instance = h.resource()["service.instance.id"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its own counts and instance, then leave at once
        try:
            with h.library.start_as_current_span("shop/tasks/b", kind=SpanKind.CONSUMER):
                pass
            report = f"{calls(h)!r}|{h.resource()['service.instance.id']}|{len(h.readers)}"
            os.write(write, report.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child_calls, child_instance, readers = pipe.read().split("|")
    os.waitpid(pid, 0)
    assert child_calls == repr({("shop/tasks/b", "task", "STATUS_CODE_UNSET"): 1})
    assert child_instance != parent_instance
    assert readers == "2"  # the child made its own provider and reader
    assert calls(h) == {("shop/tasks/a", "task", "STATUS_CODE_UNSET"): 1}


def test_a_burst_past_the_pending_cap_is_drained_without_loss(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.destinations.metrics import processor

    monkeypatch.setattr(processor, "MAX_PENDING", 3)
    h = Harness()
    for _ in range(7):
        with h.library.start_as_current_span("shop/tasks/a", kind=SpanKind.CONSUMER):
            pass
    assert h.processor._pending_n == 1  # drained at 3 and 6
    assert calls(h) == {("shop/tasks/a", "task", "STATUS_CODE_UNSET"): 7}
    assert h.points(DURATION)[("shop/tasks/a", "task", "STATUS_CODE_UNSET")].count == 7


class _Recording(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.exports = 0

    def export(self, metrics_data: Any, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        self.exports += 1
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_the_parents_periodic_reader_stays_stopped_in_a_child() -> None:
    exporters: list[_Recording] = []

    def make() -> _Recording:
        exporters.append(_Recording())
        return exporters[-1]

    readers: list[Any] = []
    periodic = periodic_readers(make, 3600)

    def make_readers() -> Any:
        readers.extend(periodic())
        return readers[-1:]

    processor = MetricsProcessor(make_readers, ("task",))
    provider = TracerProvider(resource=Resource.create({"service.name": "w"}),
                              shutdown_on_exit=False)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("lib")
    with tracer.start_as_current_span("shop/tasks/a", kind=SpanKind.CONSUMER):
        pass
    inherited = processor.provider
    assert inherited is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            reader = readers[0]
            with tracer.start_as_current_span("shop/tasks/b", kind=SpanKind.CONSUMER):
                pass
            processor.shutdown()  # the child's own provider: one export, of its own span
            os.write(write, f"{reader._daemon_thread}|{processor.provider is inherited}|"
                            f"{[e.exports for e in exporters]}".encode())
        except BaseException as exc:
            os.write(write, repr(exc).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    thread, same, exports = report.split("|") if "|" in report else (report, "", "")
    assert thread == "None"  # the SDK would have restarted it
    assert same == "False"
    assert exports == "[0, 1]"  # the parent's exporter never ran in the child
    processor.shutdown()
    assert [e.exports for e in exporters] == [1]
