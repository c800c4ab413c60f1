"""The ``slow`` rule end to end: two processes' processors (real SDK spans) write to one
real database (this test's SQLite database); the traces left labelled ``slow`` are the true
slowest of the feature and window over both, and never a request faster than its p90."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from django_tracekit.core.tracer import INSTRUMENTATION_NAME
from django_tracekit.destinations.stats import store as stats_store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.traces import keep, store
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.storage.trace_models import Trace, TraceSpan

pytestmark = pytest.mark.django_db

W0 = 2_941_000 * keep.WINDOW_NS  # a window's start (ns)
MS = 1_000_000


class Process:
    """One process: a provider with a trace store processor writing to the database, and
    (``stats``) the stats processor counting the feature's calls there too."""

    def __init__(self, service: str, stats: bool) -> None:
        self.now = 1_000.0  # the processor's monotonic clock (the buffer's expiry)
        self.processor = TraceStoreProcessor(store.database, start_thread=False,
                                             sample_rate=0.0, clock=lambda: self.now)
        self.processor.wall_clock_ns = lambda: W0 + 300 * 1_000_000_000  # mid-window
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        self.stats = StatsProcessor(stats_store.write, start_thread=False) if stats else None
        if self.stats is not None:
            provider.add_span_processor(self.stats)
        provider.add_span_processor(self.processor)
        self.tracer = provider.get_tracer(INSTRUMENTATION_NAME)

    def request(self, route: str, start_ns: int, duration_ns: int, fail: bool = False) -> str:
        root = self.tracer.start_span(f"GET {route}", kind=SpanKind.SERVER,
                                      start_time=start_ns,
                                      attributes={"http.route": route,
                                                  "http.request.method": "GET"})
        if fail:
            root.set_status(Status(StatusCode.ERROR, "timed out"))
        root.end(end_time=start_ns + duration_ns)
        return format(root.get_span_context().trace_id, "032x")


@pytest.fixture(autouse=True)
def _tables() -> None:
    store.clear_cache()


def slow_durations(route: str) -> dict[str, int]:
    """Trace id -> the root's duration (µs) of the traces labelled slow."""
    ids = Trace.objects.filter(reasons__contains="slow").values_list("id", flat=True)
    return {trace_id: duration for trace_id, duration in TraceSpan.objects.filter(
        trace_id__in=list(ids), name=f"GET {route}").values_list("trace__trace_id",
                                                                  "duration_us")}


def drive(route: str, durations: list[int], flush_every: int = 100,
          stats: bool = True, failing: int = -1) -> dict[str, int]:
    """Requests of ``durations`` (ns) spread over one window, alternately in two processes,
    both flushing as they go and once more after the window ended: trace id -> duration."""
    processes = [Process("web-1", stats), Process("web-2", stats)]
    sent = {}
    step = (keep.WINDOW_NS - 1) // len(durations)
    for i, duration in enumerate(durations):
        sent[processes[i % 2].request(route, W0 + i * step, duration,
                                      fail=i == failing)] = duration // 1_000
        if i % flush_every == flush_every - 1:
            for process in processes:
                assert process.processor.flush()
    for process in processes:
        assert process.stats is None or process.stats.flush()
    for process in processes:  # the window has ended: each settles it
        process.processor.wall_clock_ns = lambda: W0 + keep.WINDOW_NS + 1
        assert process.processor.flush()
    return sent


def test_the_slow_ones_are_the_true_slowest_over_two_processes() -> None:
    rng = random.Random(11)
    durations = [int(rng.lognormvariate(3.0, 0.6) * MS) for _ in range(1_500)]
    sent = drive("/lognorm/", durations)
    kept = slow_durations("/lognorm/")
    truth = sorted(sent.items(), key=lambda item: -item[1])[:keep.SLOW_PER_WINDOW]
    assert sorted(kept.items()) == sorted(truth)
    # Nothing else is left behind: only the slow traces were kept (no error, no sample).
    assert Trace.objects.count() == keep.SLOW_PER_WINDOW


def test_a_bimodal_route_never_labels_a_fast_request_slow() -> None:
    rng = random.Random(5)
    durations = [int((rng.uniform(4, 6) if rng.random() < 0.75 else rng.uniform(90, 130)) * MS)
                 for _ in range(400)]
    sent = drive("/bimodal/", durations, flush_every=20)
    kept = slow_durations("/bimodal/")
    assert len(kept) == keep.SLOW_PER_WINDOW
    assert min(kept.values()) >= 90_000
    assert sorted(kept.values()) == sorted(sent.values())[-keep.SLOW_PER_WINDOW:]


RARE = [d * MS for d in (5, 50, 7, 60, 6, 8, 9, 4)]  # 4 per process: 5 7 6 9 | 50 60 8 4


def test_a_feature_with_few_requests_keeps_only_those_at_or_above_its_p90() -> None:
    # 8 requests over two processes: the stats count 8, whose p90 is the slowest.
    sent = drive("/rare/", RARE)
    kept = slow_durations("/rare/")
    assert list(kept.values()) == [60_000]
    assert set(kept) <= set(sent)


def test_without_the_stats_the_p90_is_each_processs_own() -> None:
    drive("/rare/", RARE, stats=False)
    # Each process keeps its slowest (the p90 of its 4): 9 ms is web-1's.
    assert sorted(slow_durations("/rare/").values()) == [9_000, 60_000]


def test_an_error_trace_among_the_slowest_is_labelled_slow_too() -> None:
    # The slowest request failed (a timeout): written at once for its error, then found
    # the slowest when its window ends.
    durations = [(500 if i == 7 else 10 + i % 13) * MS for i in range(120)]
    sent = drive("/timeout/", durations, flush_every=10, failing=7)
    slowest = max(sent, key=lambda t: sent[t])
    assert Trace.objects.get(trace_id=slowest).reasons == "error,slow"
    assert slowest in slow_durations("/timeout/")
    assert len(slow_durations("/timeout/")) == keep.SLOW_PER_WINDOW


def test_a_request_kept_slow_at_its_windows_end_keeps_the_task_it_sent() -> None:
    """Trial 9 (wger): the request is chosen as slow when its window ends, minutes after its
    Celery task ran in a worker; the worker still holds the task's part, which joins the
    kept trace in the database, and the trace page shows the task under its publish span."""
    web, worker = Process("wger", stats=False), Process("wger-worker", stats=False)
    start = W0 + 120 * 1_000_000_000
    root = web.tracer.start_span("POST /api/v2/workoutlog/", kind=SpanKind.SERVER,
                                 start_time=start)
    publish = web.tracer.start_span(
        "apply_async/wger.trophies.tasks.evaluate_user_trophies_task", kind=SpanKind.PRODUCER,
        context=trace.set_span_in_context(root), start_time=start + 100 * MS)
    publish.end(end_time=start + 102 * MS)
    root.end(end_time=start + 900 * MS)
    carried = publish.get_span_context()
    remote = trace.set_span_in_context(trace.NonRecordingSpan(trace.SpanContext(
        carried.trace_id, carried.span_id, is_remote=True, trace_flags=carried.trace_flags)))
    task = worker.tracer.start_span("wger.trophies.tasks.evaluate_user_trophies_task",
                                    kind=SpanKind.CONSUMER, context=remote,
                                    start_time=start + 150 * MS)
    task.end(end_time=start + 170 * MS)
    for _ in range(3):  # slower runs of the task: its own candidates, not this one
        other = worker.tracer.start_span("wger.trophies.tasks.evaluate_user_trophies_task",
                                         kind=SpanKind.CONSUMER, start_time=start)
        other.end(end_time=start + 2_000 * MS)
    assert web.processor.flush() and worker.processor.flush()
    tid = format(carried.trace_id, "032x")
    assert not Trace.objects.filter(trace_id=tid).exists()  # mid-window: not decided yet
    worker.now += 180.0  # beyond BUFFER_S (120 s): held for the window
    assert worker.processor.flush()
    web.processor.wall_clock_ns = lambda: W0 + keep.WINDOW_NS + 1  # the window ended
    assert web.processor.flush()  # the request is its feature's slowest: kept
    assert worker.processor.flush()  # the task's part joins it
    kept = Trace.objects.get(trace_id=tid)
    assert kept.reasons == "slow" and kept.services == "wger,wger-worker"
    spans = dict(TraceSpan.objects.filter(trace=kept).values_list("kind", "parent_span_id"))
    assert spans["consumer"] == format(carried.span_id, "016x")

    client = Client()
    client.force_login(User.objects.create_superuser("root"))
    page = client.get(reverse("admin:tracekit_trace", args=[tid])).content.decode()
    assert "evaluate_user_trophies_task" in page and "task not in the store" not in page
