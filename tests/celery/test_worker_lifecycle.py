"""Tasks that never finish normally, children that exit, and beat — on the embedded
``filesystem://`` broker (these behaviours are the pool's, not the broker's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.celery.helpers import (
    KIND_CONSUMER,
    KIND_PRODUCER,
    STATUS_ERROR,
    WAIT_TIMEOUT_S,
    Stack,
    one,
    publish_span_name,
    task_span_name,
)
from tests.support.otlp_receiver import OtlpHttpReceiver

pytestmark = pytest.mark.requires("celery", "opentelemetry.exporter.otlp")


@pytest.fixture(scope="module")
def limits(receiver: OtlpHttpReceiver,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A prefork worker with an embedded beat (-B) scheduling `encode` every second."""
    tmp = tmp_path_factory.mktemp("celery-limits")
    running = Stack("filesystem", receiver, tmp,
                    worker_args=("-B", "-s", str(tmp / "beat-schedule")),
                    worker_env={"TK_CELERY_BEAT": "1"})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def recycling(receiver: OtlpHttpReceiver,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Each pool child runs one task, then exits (contrib issue #4916's setup).

    The worker's batch processor waits 30 s before exporting on its own, so every span of
    a child can only arrive through the flush on worker_process_shutdown."""
    running = Stack("filesystem", receiver, tmp_path_factory.mktemp("celery-recycling"),
                    worker_args=("--max-tasks-per-child=1",),
                    worker_env={"OTEL_BSP_SCHEDULE_DELAY": "30000"})
    try:
        yield running
    finally:
        running.stop()


def test_soft_time_limit_is_an_error_with_the_task_frame(
        limits: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = limits.get("/run/soft_limited/")
    spans = limits.wait_trace(reply["trace_id"], {task_span_name("soft_limited"): 1})
    consumer = one(spans, task_span_name("soft_limited"))
    assert consumer.status_code == STATUS_ERROR
    assert consumer.attributes["celery.state"] == "FAILURE"
    [event] = consumer.exceptions
    assert event["exception.type"] == "billiard.exceptions.SoftTimeLimitExceeded"
    assert "in soft_limited" in event["exception.stacktrace"]


def test_child_killed_mid_task_leaves_an_ended_error_span(
        limits: Stack, receiver: OtlpHttpReceiver) -> None:
    reply = limits.get("/run/crash/")  # SIGKILLs its own pool child
    spans = limits.wait_trace(reply["trace_id"], {task_span_name("crash"): 1,
                                                  publish_span_name("crash"): 1})
    # Exactly one span for the task: the main worker process's, since the child had none left.
    consumer = one(spans, task_span_name("crash"))
    assert consumer.kind == KIND_CONSUMER
    assert consumer.parent_span_id == one(spans, publish_span_name("crash")).span_id
    assert consumer.status_code == STATUS_ERROR
    [event] = consumer.exceptions
    assert event["exception.type"] == "billiard.exceptions.WorkerLostError"
    assert "SIGKILL" in event["exception.message"]


def test_beat_scheduled_tasks_start_their_own_traces(
        limits: Stack, receiver: OtlpHttpReceiver) -> None:
    def beat_consumers(spans: list) -> list:  # type: ignore[type-arg]
        return [s for s in spans if s.name == task_span_name("encode")
                and s.attributes.get("celery.args") == "(int)"
                and any(p.span_id == s.parent_span_id and p.parent_span_id == ""
                        for p in spans if p.kind == KIND_PRODUCER)]

    spans = receiver.wait_for(lambda spans: len(beat_consumers(spans)) >= 2,
                             timeout=WAIT_TIMEOUT_S)
    ticks = beat_consumers(spans)
    # Each tick: a root publish span (beat has no caller), its own trace, the convention name.
    assert len({s.trace_id for s in ticks}) == len(ticks)
    for tick in ticks:
        [publish] = [s for s in spans if s.span_id == tick.parent_span_id]
        assert publish.name == publish_span_name("encode")
        assert publish.parent_span_id == ""
        assert tick.trace_id == publish.trace_id


def test_hard_time_limit_ends_the_span_with_where_the_task_hung(
        limits: Stack, receiver: OtlpHttpReceiver) -> None:
    # Last on this worker: billiard may hand a task to the child it is about to kill for
    # the time limit (a pool race unrelated to tracing), so nothing should follow it.
    reply = limits.get("/run/hard_limited/")  # time_limit=1.5, sleeps 30 s
    spans = limits.wait_trace(reply["trace_id"], {task_span_name("hard_limited"): 1})
    consumer = one(spans, task_span_name("hard_limited"))
    assert consumer.status_code == STATUS_ERROR
    assert consumer.attributes["celery.state"] == "FAILURE"
    assert consumer.attributes["celery.time_limit"] == "hard"
    # Ended by the limit, not by the 30 s sleep (a loaded machine may fire the limit late).
    assert 1.4 < consumer.duration_s < 25
    [event] = consumer.exceptions
    assert event["exception.type"] == "billiard.exceptions.TimeLimitExceeded"
    # The child was killed in time.sleep inside hard_limited: the stack says so.
    assert "tasks.py" in event["exception.stacktrace"]
    assert "in hard_limited" in event["exception.stacktrace"]


def test_max_tasks_per_child_1_loses_no_span(
        recycling: Stack, receiver: OtlpHttpReceiver) -> None:
    count = 6
    reply = recycling.get(f"/batch/{count}/")
    spans = recycling.wait_trace(reply["trace_id"], {task_span_name("encode"): count})
    consumers = [s for s in spans if s.name == task_span_name("encode")]
    assert sorted(s.attributes["messaging.message.id"] for s in consumers) == sorted(
        reply["task_ids"])
    assert all(s.attributes["celery.state"] == "SUCCESS" for s in consumers)
