"""End to end, per broker: a real request through runserver enqueues tasks on a real prefork
worker; every span arrives at the local OTLP receiver over the real OTLP exporter."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import pytest

from tests.celery.helpers import (
    KIND_CONSUMER,
    KIND_PRODUCER,
    KIND_SERVER,
    STATUS_ERROR,
    STATUS_UNSET,
    WAIT_TIMEOUT_S,
    Stack,
    by_message_id,
    one,
    publish_span_name,
    task_span_name,
)
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

pytestmark = pytest.mark.requires("celery", "opentelemetry.exporter.otlp")

VIEW = "tests/celery/project/views"


def test_request_task_subtask_is_one_trace(stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/enqueue/")
    # Spans come from three processes and batches: wait for every one the test reads.
    spans = stack.wait_trace(reply["trace_id"], {
        "GET /enqueue/": 1, f"{VIEW}/enqueue": 1,
        publish_span_name("process_video"): 1, task_span_name("process_video"): 1,
        publish_span_name("encode"): 1, task_span_name("encode"): 1})
    server = one(spans, "GET /enqueue/")
    view = one(spans, f"{VIEW}/enqueue")
    publish = one(spans, publish_span_name("process_video"))
    consumer = one(spans, task_span_name("process_video"))
    sub_publish = one(spans, publish_span_name("encode"))
    sub_consumer = one(spans, task_span_name("encode"))
    # The chain of parents: request -> view -> publish -> task -> publish -> subtask.
    assert server.kind == KIND_SERVER and server.parent_span_id == ""
    assert view.parent_span_id == server.span_id
    assert publish.parent_span_id == view.span_id == reply["span_id"]
    assert consumer.parent_span_id == publish.span_id
    assert sub_publish.parent_span_id == consumer.span_id
    assert sub_consumer.parent_span_id == sub_publish.span_id
    assert (publish.kind, consumer.kind) == (KIND_PRODUCER, KIND_CONSUMER)
    # The worker (named after the queue) consumed it.
    assert consumer.attributes["celery.hostname"].startswith("tracekit-tests-")
    # Messaging semconv + contrib's celery.* keys.
    assert publish.attributes["messaging.system"] == "celery"
    assert publish.attributes["messaging.operation.type"] == "send"
    assert publish.attributes["messaging.message.id"] == reply["task_id"]
    assert publish.attributes["celery.task_name"] == "tests.celery.project.tasks.process_video"
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.message.id"] == reply["task_id"]
    assert consumer.attributes["messaging.destination.name"].startswith("tracekit-tests-")
    assert consumer.attributes["celery.state"] == "SUCCESS"
    assert consumer.attributes["code.function.name"] == "tests.celery.project.tasks.process_video"
    # ARGS_SUMMARY is on in the test project: types only, never the value 7.
    assert consumer.attributes["celery.args"] == "(int)"
    assert "7" not in consumer.attributes["celery.args"]
    assert consumer.status_code == STATUS_UNSET and not consumer.exceptions


def test_failing_task_records_one_exception_with_full_stack(
        stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/run/charge/")
    spans = stack.wait_trace(reply["trace_id"], {task_span_name("charge"): 1,
                                                 publish_span_name("charge"): 1})
    consumer = one(spans, task_span_name("charge"))
    assert consumer.status_code == STATUS_ERROR
    assert consumer.attributes["celery.state"] == "FAILURE"
    assert consumer.attributes["error.type"] == "ValueError"
    [event] = consumer.exceptions  # one exception event, not two
    assert event["exception.message"] == "order 42 cannot be charged"
    stack_text = event["exception.stacktrace"]
    # The raise point, the task function, and callers above Celery's tracer (the pool).
    assert "in _explode" in stack_text and "in charge" in stack_text
    assert "celery/app/trace.py" in stack_text
    assert stack_text.index("in charge") < stack_text.index("in _explode")
    assert stack_text.rstrip().endswith("ValueError: order 42 cannot be charged")
    # The publish span is not an error: the message was sent fine.
    assert one(spans, publish_span_name("charge")).status_code == STATUS_UNSET


def test_each_retry_is_its_own_span_in_the_same_trace(
        stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/run/flaky/")  # fails twice, succeeds on the third attempt
    spans = stack.wait_trace(reply["trace_id"], {task_span_name("flaky"): 3,
                                                 publish_span_name("flaky"): 3})
    attempts = sorted((s for s in spans if s.name == task_span_name("flaky")),
                      key=lambda s: s.start_ns)
    # Exactly the three executions, each a CONSUMER span with its state, and no other span
    # of the task's name. (Under load a span without celery.state appeared: Celery's file://
    # result backend failing around an attempt; see test_celery_failing_around_the_task_...)
    details = [(a.kind, dict(a.attributes), a.exceptions) for a in attempts]
    assert len(attempts) == 3, details
    assert all(a.kind == KIND_CONSUMER for a in attempts), details
    assert [a.attributes.get("celery.state") for a in attempts] == [
        "RETRY", "RETRY", "SUCCESS"], details
    assert [a.attributes.get("celery.retries", 0) for a in attempts] == [0, 1, 2]
    assert "backend down (try 0)" in attempts[0].attributes["celery.retry.reason"]
    assert "backend down (try 1)" in attempts[1].attributes["celery.retry.reason"]
    assert "celery.retry.reason" not in attempts[2].attributes
    # A retry is not an error, and each attempt follows the previous one's retry publish.
    assert all(a.status_code == STATUS_UNSET and not a.exceptions for a in attempts)
    publishes = {s.span_id: s for s in spans if s.name == publish_span_name("flaky")}
    assert len(publishes) == 3
    for previous, current in itertools.pairwise(attempts):
        assert publishes[current.parent_span_id].parent_span_id == previous.span_id
    assert {a.attributes["messaging.message.id"] for a in attempts} == {reply["task_id"]}


@pytest.mark.parametrize(("task", "state", "exception_type"), [
    ("lookup", "FAILURE", "KeyError"),  # in task.throws
    ("skip", "IGNORED", None),  # raise Ignore()
    ("refuse", "REJECTED", None),  # raise Reject()
])
def test_expected_outcomes_are_not_errors(stack: Stack, receiver: OtlpHttpReceiver, task: str,
                                          state: str, exception_type: str | None) -> None:
    reply = stack.get(f"/run/{task}/")
    spans = stack.wait_trace(reply["trace_id"], {task_span_name(task): 1})
    consumer = one(spans, task_span_name(task))
    assert consumer.attributes["celery.state"] == state
    assert consumer.status_code == STATUS_UNSET
    assert consumer.exceptions == []
    assert "error.type" not in consumer.attributes
    assert consumer.attributes.get("celery.exception.type") == exception_type


def test_send_task_by_name_to_a_task_only_the_worker_knows(
        stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/send-by-name/")
    assert reply["registered_here"] is False  # contrib #609's case
    spans = stack.wait_trace(reply["trace_id"], {
        "tests/celery/project/worker_only/resize": 1, "apply_async/remote.resize": 1,
        publish_span_name("encode"): 1})
    publish = one(spans, "apply_async/remote.resize")
    consumer = one(spans, "tests/celery/project/worker_only/resize")
    assert publish.parent_span_id == reply["span_id"]
    assert publish.attributes["celery.task_name"] == "remote.resize"
    assert publish.end_ns >= publish.start_ns > 0  # ended, not leaked
    assert consumer.parent_span_id == publish.span_id
    assert consumer.attributes["celery.state"] == "SUCCESS"
    # The next publish in the same view is the view's child, not the send_task span's.
    after = by_message_id(spans, reply["after_id"], KIND_PRODUCER)
    assert [s.parent_span_id for s in after] == [reply["span_id"]]


def test_canvas_chain_group_chord_signature(stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/canvas/")
    # chain: 2 adds; group: 2 adds; chord header: 2 adds; chord body: total; signature: encode.
    spans = stack.wait_trace(reply["trace_id"], {
        task_span_name("add"): 6, task_span_name("total"): 1, task_span_name("encode"): 1})

    def parents_arrived(received: list[ReceivedSpan]) -> bool:
        mine = [s for s in received if s.trace_id == reply["trace_id"]]
        ids = {s.span_id for s in mine}
        return all(s.parent_span_id in ids for s in mine if s.parent_span_id)

    spans = [s for s in receiver.wait_for(parents_arrived, timeout=WAIT_TIMEOUT_S)
             if s.trace_id == reply["trace_id"]]
    consumers = {s.span_id: s for s in spans if s.kind == KIND_CONSUMER}
    publishes = {s.span_id: s for s in spans if s.kind == KIND_PRODUCER}
    # Every task execution is the child of a publish span of the same trace.
    for consumer in consumers.values():
        assert consumer.parent_span_id in publishes, consumer.name
    # The chain's second step is published by the first step's execution.
    [chain_second] = by_message_id(spans, reply["chain"], KIND_CONSUMER)
    chain_publish = publishes[chain_second.parent_span_id]
    assert consumers[chain_publish.parent_span_id].name == task_span_name("add")
    # The chord body runs once, as a descendant of the request.
    [body] = [s for s in spans if s.name == task_span_name("total")]
    assert body.attributes["celery.state"] == "SUCCESS"
    [signature] = by_message_id(spans, reply["signature"], KIND_CONSUMER)
    assert publishes[signature.parent_span_id].parent_span_id == reply["span_id"]


def test_eta_task_is_traced_when_it_runs(stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/run/eta/")
    spans = stack.wait_trace(reply["trace_id"], {task_span_name("add"): 1,
                                                 publish_span_name("add"): 1})
    publish = one(spans, publish_span_name("add"))
    consumer = one(spans, task_span_name("add"))
    assert "celery.eta" in publish.attributes and "celery.eta" in consumer.attributes
    assert consumer.parent_span_id == publish.span_id
    assert consumer.start_ns - publish.end_ns >= 0.8e9  # countdown=1 honoured


def test_revoked_before_running_is_ended_and_marked(
        stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/run/later/")  # countdown=3: the worker holds it, then discards it
    stack.get(f"/revoke/{reply['task_id']}/")
    spans = stack.wait_trace(reply["trace_id"], {task_span_name("slow"): 1,
                                                 publish_span_name("slow"): 1})
    consumer = one(spans, task_span_name("slow"))
    assert consumer.attributes["celery.state"] == "REVOKED"
    assert consumer.attributes["celery.revoked.reason"] == "revoked"
    assert consumer.parent_span_id == one(spans, publish_span_name("slow")).span_id
    assert consumer.status_code == STATUS_UNSET


def test_terminated_while_running_is_ended_and_marked(
        stack: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = stack.get("/run/slow/")  # sleeps 30 s
    stack.wait_state(reply["task_id"], ("STARTED",))
    stack.get(f"/revoke/{reply['task_id']}/?terminate=1")
    spans = stack.wait_trace(reply["trace_id"], {task_span_name("slow"): 1})
    consumer = one(spans, task_span_name("slow"))
    assert consumer.attributes["celery.state"] == "REVOKED"
    assert consumer.attributes["celery.revoked.reason"] == "terminated"
    assert consumer.attributes["celery.terminated.signal"] == "SIGTERM"
    assert consumer.duration_s < 25  # ended when killed, not when the sleep would have ended


def test_celery_failing_around_the_task_is_an_error_on_its_span(tmp_path: Path) -> None:
    # Celery's own bookkeeping around a task can fail: here its file:// result backend reads
    # a result file another pool child is rewriting (not atomic: the race that made the
    # retry test above flaky under load) before it stores STARTED. Celery reports an
    # internal error and marks the task FAILURE; the span says so, with the full stack.
    from celery import Celery
    from celery.app.trace import build_tracer
    from kombu.exceptions import DecodeError

    from django_tracekit.core import naming
    from django_tracekit.testing import capture_spans

    app = Celery("internal", set_as_current=False, broker="memory://",
                 backend=f"file://{tmp_path}")
    app.conf.task_track_started = True

    @app.task(name=f"tests.internal_{uuid.uuid4().hex}")  # type: ignore[untyped-decorator]
    def noop() -> int:
        return 1

    task_id = str(uuid.uuid4())
    (tmp_path / f"celery-task-meta-{task_id}").write_bytes(b'{"status": "STAR')
    run = build_tracer(noop.name, noop, app=app, eager=False, propagate=False)
    with capture_spans() as spans, pytest.raises(DecodeError):
        run(task_id, (), {}, {"id": task_id, "hostname": "tests@here"})
    [span] = [s for s in spans if s.name == naming.name_for(noop.run)]
    assert span.attributes is not None
    assert span.attributes["celery.state"] == "FAILURE"
    assert span.attributes["error.type"] == "kombu.exceptions.DecodeError"
    [event] = [e for e in span.events if e.name == "exception"]
    assert event.attributes is not None
    stack = str(event.attributes["exception.stacktrace"])
    # Where the backend failed, and Celery's tracer (the callers above the task span).
    assert "._get_task_meta_for" in stack and "trace_task" in stack
