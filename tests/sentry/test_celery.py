"""A task failing in a real Celery worker (prefork, filesystem:// broker) is one Sentry event
linked to the trace of the span that recorded it, with Sentry's CeleryIntegration and
LoggingIntegration on (SDK defaults) seeing the same exception."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sentry.envelopes import SentryReceiver, exception_frames, thread_frames
from tests.sentry.helpers import Worker, process_env
from tests.support.otlp_receiver import OtlpHttpReceiver

pytestmark = [pytest.mark.requires("sentry_sdk", "celery", "opentelemetry.exporter.otlp")]

TASK_FEATURE = "tests/sentry/project/celery_app/fail_order"


@pytest.fixture(scope="module")
def worker(otlp: OtlpHttpReceiver, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Worker, SentryReceiver, Path]]:
    broker = tmp_path_factory.mktemp("broker")
    for sub in ("out", "processed"):
        (broker / sub).mkdir()
    with SentryReceiver() as sentry:
        env = process_env(otlp.endpoint, TK_SENTRY_DSN=sentry.dsn, TK_BROKER_DIR=str(broker))
        running = Worker(env, tmp_path_factory.mktemp("worker-log"))
        try:
            running.wait_ready()
            yield running, sentry, broker
        finally:
            running.stop()


def send(broker: Path, order: str, task: str = "tests.sentry.fail_order") -> None:
    from celery import Celery

    producer = Celery("producer", broker="filesystem://")
    producer.conf.broker_transport_options = {
        "data_folder_in": str(broker / "out"), "data_folder_out": str(broker / "out"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control")}  # kombu's default is ./control
    producer.send_task(task, args=[order])


def test_failing_task_is_one_event_linked_to_its_span(worker, otlp):
    process, sentry, broker = worker
    order = uuid.uuid4().hex
    send(broker, order)

    def mine(event: dict) -> bool:  # type: ignore[type-arg]
        return order in event["exception"]["values"][-1]["value"]
    try:
        events = sentry.wait_events(mine, timeout=30, settle_s=1.5)
    except AssertionError:
        raise AssertionError(process.log()) from None
    # CeleryIntegration (wraps task.run) and celery's "Task ... raised" log record saw the
    # same exception after the span recorded it: still one event.
    assert len(events) == 1, [e["exception"]["values"][-1]["mechanism"] for e in events]
    event = events[0]
    spans = otlp.wait_for(lambda all_: any(s.name == TASK_FEATURE and s.exceptions
                                           and order in s.exceptions[0]["exception.message"]
                                           for s in all_))
    span = next(s for s in spans if s.name == TASK_FEATURE and s.exceptions
                and order in s.exceptions[0]["exception.message"])
    assert event["contexts"]["trace"]["trace_id"] == span.trace_id
    assert event["contexts"]["trace"]["span_id"] == span.span_id
    assert event["tags"]["tracekit.feature"] == TASK_FEATURE
    assert event["exception"]["values"][-1]["mechanism"]["type"] == "django_tracekit"
    assert [f["function"] for f in exception_frames(event)[-2:]] == ["fail_order", "_ship"]
    # The caller stack shows the worker machinery that ran the task.
    assert "celery.app.trace" in [f["module"] for f in thread_frames(event)]


def test_a_lone_surrogate_in_a_task_error_does_not_drop_the_other_spans(worker, otlp):
    """Issue 21 item 2 in a prefork worker: a task failing with a lone surrogate in its
    message is exported (cleaned) with the 40 task spans around it (before: the batch holding
    it was refused, "Failed to encode span batch")."""
    process, _sentry, broker = worker
    run = uuid.uuid4().hex
    orders = [f"{run}-{i}" for i in range(40)]
    for order in orders[:20]:
        send(broker, order, "tests.sentry.ok_order")
    send(broker, f"{run}-poisoned\ud800")
    for order in orders[20:]:
        send(broker, order, "tests.sentry.ok_order")

    def task_spans(spans: list) -> list:  # type: ignore[type-arg]
        return [s for s in spans if run in str(s.attributes)]

    try:
        spans = otlp.wait_for(lambda all_: len({
            o for s in task_spans(all_) for o in orders if o in str(s.attributes)}) == 40
            and any(s.exceptions and run in s.exceptions[0]["exception.message"]
                    for s in all_), timeout=60)
    except AssertionError:
        raise AssertionError(process.log()) from None
    failed = next(s for s in spans if s.exceptions
                  and run in s.exceptions[0]["exception.message"])
    assert failed.exceptions[0]["exception.message"].endswith("poisoned\ufffd")
