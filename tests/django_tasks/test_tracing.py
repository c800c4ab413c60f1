"""django.tasks traced (Django 6.0+): with the real ImmediateBackend (runs in-process) and
DummyBackend (stores only), spans captured in-process.

Skipped only where django.tasks does not exist (Django < 6.0: test_integration.py checks
the refusal there); the Django 6 matrix leg runs them (core profile)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import django_tracekit as tracekit
from django_tracekit.core import features
from django_tracekit.integrations.base import importable
from django_tracekit.testing import CapturedSpans, capture_spans

pytestmark = pytest.mark.skipif(not importable("django.tasks"),
                                reason="django.tasks comes with Django 6.0")

TASKS = "tests.django_tasks.tasks"
IMMEDIATE = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


def run_name(function: str) -> str:
    return f"tests/django_tasks/tasks/{function}"


def enqueue_name(function: str) -> str:
    return f"enqueue/{TASKS}.{function}"


@pytest.fixture
def tasks() -> Iterator[Any]:
    with override_settings(TASKS=IMMEDIATE):
        from tests.django_tasks import tasks as module

        yield module


@pytest.fixture
def spans() -> Iterator[CapturedSpans]:
    with capture_spans() as captured:
        yield captured


def one(spans: CapturedSpans, name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_enqueue_and_run_are_one_trace(tasks: Any, spans: CapturedSpans) -> None:
    with tracekit.span("view") as view:
        result = tasks.add.enqueue(2, 3)
    assert result.return_value == 5
    producer = one(spans, enqueue_name("add"))
    consumer = one(spans, run_name("add"))
    inner = one(spans, "add/inner")
    # The chain of parents: caller -> enqueue (PRODUCER) -> run (CONSUMER) -> task's spans.
    assert producer.parent is not None
    assert producer.parent.span_id == view.get_span_context().span_id
    assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
    assert inner.parent is not None and inner.parent.span_id == consumer.context.span_id
    assert {s.context.trace_id for s in (producer, consumer, inner)} == {
        view.get_span_context().trace_id}
    assert (producer.kind, consumer.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    sent, ran = attrs(producer), attrs(consumer)
    assert sent["messaging.system"] == ran["messaging.system"] == "django.tasks"
    assert sent["messaging.operation.type"] == "send"
    assert ran["messaging.operation.type"] == "process"
    assert sent["messaging.message.id"] == ran["messaging.message.id"] == result.id
    assert ran["messaging.destination.name"] == "default"
    assert ran["django.tasks.backend"] == "default"
    assert ran["django.tasks.status"] == "SUCCESSFUL"
    assert ran["django.tasks.attempt"] == 1
    assert ran["code.function.name"] == f"{TASKS}.add"
    assert consumer.status.status_code is StatusCode.UNSET
    # The context is restored: spans after the enqueue are the caller's again.
    with tracekit.span("after"):
        pass
    after = one(spans, "after")
    assert after.parent is None


def test_failing_task_records_one_exception_with_full_stack(
        tasks: Any, spans: CapturedSpans) -> None:
    result = tasks.charge.enqueue(42)  # ImmediateBackend: the failure is in the result
    assert result.status == "FAILED"
    consumer = one(spans, run_name("charge"))
    assert consumer.status.status_code is StatusCode.ERROR
    assert attrs(consumer)["error.type"] == "ValueError"
    assert attrs(consumer)["django.tasks.status"] == "FAILED"
    [event] = [e for e in consumer.events if e.name == "exception"]
    stack = str(dict(event.attributes or {})["exception.stacktrace"])
    # The raise point, the task function, and the code that enqueued it.
    assert "in _explode" in stack and "in charge" in stack
    assert "test_failing_task_records_one_exception_with_full_stack" in stack
    assert stack.index("in charge") < stack.index("in _explode")
    assert one(spans, enqueue_name("charge")).status.status_code is StatusCode.UNSET


def test_context_and_async_tasks(tasks: Any, spans: CapturedSpans) -> None:
    assert tasks.attempt.enqueue().return_value == 1
    assert tasks.fetch.enqueue("x").return_value == "X"
    for name in ("attempt", "fetch"):
        consumer = one(spans, run_name(name))
        producer = one(spans, enqueue_name(name))
        assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id


def test_stored_tasks_have_a_producer_span_only(spans: CapturedSpans) -> None:
    with override_settings(TASKS=DUMMY):
        from tests.django_tasks import tasks as module

        result = module.add.enqueue(1, 1)
    assert result.status == "READY"
    assert [s.name for s in spans] == [enqueue_name("add")]


def test_pending_producers_are_bounded(spans: CapturedSpans,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.sources.django_tasks import tracing

    monkeypatch.setattr(tracing, "MAX_PENDING", 3)
    with override_settings(TASKS=DUMMY):
        from tests.django_tasks import tasks as module

        for i in range(10):
            module.add.enqueue(i, i)
    assert len(tracing._pending) <= 3
    assert len([s for s in spans if s.name == enqueue_name("add")]) == 10


def test_counted_as_tasks(tasks: Any, spans: CapturedSpans) -> None:
    tasks.add.enqueue(1, 2)
    consumer, producer = one(spans, run_name("add")), one(spans, enqueue_name("add"))

    def kind(span: ReadableSpan) -> str | None:
        scope = span.instrumentation_scope.name if span.instrumentation_scope else None
        return features.feature_kind(span.kind, scope, span.attributes)

    assert kind(consumer) == features.TASK  # the run is the feature; sending is not one
    assert kind(producer) is None


def test_a_tracing_failure_never_fails_the_task(tasks: Any, spans: CapturedSpans,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.core import naming
    from django_tracekit.sources.django_tasks import tracing

    def broken(obj: object) -> naming.CodeLocation:
        raise RuntimeError("naming is broken")

    monkeypatch.setattr(tracing, "_meta", {})
    monkeypatch.setattr(naming, "location_for", broken)
    failures = tracing._failures.count
    result = tasks.add.enqueue(20, 22)
    assert result.status == "SUCCESSFUL" and result.return_value == 42
    assert [s.name for s in spans] == [enqueue_name("add"), "add/inner"]  # no run span
    assert tracing._failures.count == failures + 1
    assert result.id not in tracing._running and result.id not in tracing._pending
