"""The processor's entry-point numbers: an entry point counts the N+1 of every span below it
in its process (a task's belong to the task), and a task feature counts tasks, not attempts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from django_tracekit.core.vocabulary import N_PLUS_ONE_EVENT
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.stats.records import ErrorSample

TASK_ATTRS = {"messaging.system": "celery"}


class Totals:
    """A writer keeping every entry field per (feature, kind)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[Any]] = {}

    def __call__(self, increments: Mapping[Any, Any], errors: Sequence[ErrorSample]) -> int:
        for (feature, kind, _service, _minute), entry in increments.items():
            row = self.rows.setdefault((feature, kind), [0] * 11)
            for i in (0, 1, 5, 8, 9, 10):
                row[i] += entry[i]
        return len(increments)

    def n_plus_one(self, feature: str, kind: str) -> int:
        return int(self.rows.get((feature, kind), [0] * 11)[5])

    def task(self, feature: str) -> tuple[int, ...]:
        """(calls, errors, retries, failed attempts, tasks that passed only after a retry)"""
        row = self.rows[(feature, "task")]
        return row[0], row[1], row[8], row[9], row[10]


def make() -> tuple[Any, StatsProcessor, Totals]:
    totals = Totals()
    processor = StatsProcessor(totals, start_thread=False)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    return provider, processor, totals


def n_plus_one(span: Any, statements: int = 1) -> None:
    for n in range(statements):
        span.add_event(N_PLUS_ONE_EVENT, {"db.query.text": f"SELECT {n}"})


def test_an_entry_point_counts_the_n_plus_one_of_every_span_below_it() -> None:
    provider, processor, totals = make()
    ours = provider.get_tracer("django_tracekit")
    web = provider.get_tracer("web")
    with web.start_as_current_span("GET /videos/", kind=SpanKind.SERVER):
        with ours.start_as_current_span("shop/views/catalog"):
            with ours.start_as_current_span("shop/videos/channels") as helper:
                n_plus_one(helper, 2)  # two statements ran N times here
            # A library span in between.
            with web.start_as_current_span("SELECT"), \
                    ours.start_as_current_span("shop/videos/thumbs") as thumbs:
                n_plus_one(thumbs)
        # A task run eagerly inside the request: its N+1 belongs to the task.
        with ours.start_as_current_span("shop/tasks/transcode", attributes=TASK_ATTRS), \
                ours.start_as_current_span("shop/videos/frames") as frames:
            n_plus_one(frames)
    # A task sent from elsewhere (remote parent): its own entry point.
    remote = set_span_in_context(NonRecordingSpan(SpanContext(
        0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))))
    with ours.start_as_current_span("shop/tasks/transcode", context=remote,
                                    kind=SpanKind.CONSUMER) as task:
        n_plus_one(task)
        with ours.start_as_current_span("shop/videos/frames") as frames:
            n_plus_one(frames)
    assert processor.flush()
    assert totals.n_plus_one("GET /videos/", "request") == 3
    assert totals.n_plus_one("shop/views/catalog", "function") == 0  # ran none itself
    assert totals.n_plus_one("shop/videos/channels", "function") == 2
    assert totals.n_plus_one("shop/videos/thumbs", "function") == 1
    assert totals.n_plus_one("shop/tasks/transcode", "task") == 1 + 2
    assert totals.n_plus_one("shop/videos/frames", "function") == 2
    assert not processor._n1_below  # nothing left waiting for a parent


def _attempt(tracer: Any, name: str, state: str, retries: int = 0,
             exception: str | None = None) -> None:
    attributes: dict[str, Any] = {"celery.state": state}
    if retries:
        attributes["celery.retries"] = retries
    if exception:
        attributes["celery.retry.reason"] = f"{exception}: backend down"
        attributes["celery.retry.exception.type"] = exception
    with tracer.start_as_current_span(name, kind=SpanKind.CONSUMER,
                                      attributes=attributes) as span:
        if state == "FAILURE":
            span.set_status(Status(StatusCode.ERROR, "backend down"))


def test_a_task_counts_tasks_retries_and_failed_attempts() -> None:
    provider, processor, totals = make()
    tracer = provider.get_tracer("celery-ish")
    # Retries twice (after an exception), then succeeds: flaky.
    _attempt(tracer, "flaky", "RETRY", 0, "ConnectionError")
    _attempt(tracer, "flaky", "RETRY", 1, "ConnectionError")
    _attempt(tracer, "flaky", "SUCCESS", 2)
    # Fails all three attempts.
    _attempt(tracer, "doomed", "RETRY", 0, "ConnectionError")
    _attempt(tracer, "doomed", "RETRY", 1, "ConnectionError")
    _attempt(tracer, "doomed", "FAILURE", 2)
    # Polls: asks to run again without failing (self.retry(countdown=...)), then succeeds.
    _attempt(tracer, "poll", "RETRY")
    _attempt(tracer, "poll", "SUCCESS", 1)
    _attempt(tracer, "clean", "SUCCESS")
    assert processor.flush()
    assert totals.task("flaky") == (1, 0, 2, 2, 1)
    assert totals.task("doomed") == (1, 1, 2, 3, 0)  # failed after retries: not flaky
    assert totals.task("poll") == (1, 0, 1, 0, 1)
    assert totals.task("clean") == (1, 0, 0, 0, 0)
