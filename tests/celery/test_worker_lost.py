"""A task's pool child that exits while the main process reports the job lost: one span for
the task, the child's, never a second one from the main process (issue 21, item 10 b).

Real prefork workers on Redis (concurrency 2), exporting to a local OTLP receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.celery.helpers import KIND_CONSUMER, Stack, in_trace, one, task_span_name
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

pytestmark = [pytest.mark.requires("celery", "opentelemetry.exporter.otlp"),
              pytest.mark.service("redis")]


@pytest.fixture(scope="module")
def redis_stack(receiver: OtlpHttpReceiver,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack("redis", receiver, tmp_path_factory.mktemp("celery-lost"))
    try:
        yield running
    finally:
        running.stop()


def _consumers(spans: list[ReceivedSpan], name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.name == name and s.kind == KIND_CONSUMER]


@pytest.mark.parametrize(("view", "code"), [("quits", 3), ("quits_cleanly", 0)])
def test_a_task_raising_system_exit_has_one_span(
        redis_stack: Stack, receiver: OtlpHttpReceiver, view: str, code: int) -> None:
    # billiard reports the job's own SystemExit as its result, before the child leaves;
    # Celery's main process turns it into WorkerLostError("… exitcode 3.") and sends
    # task_failure. The child ended the task's span in task_postrun already.
    reply = redis_stack.get(f"/run/{view}/")
    redis_stack.wait_state(reply["task_id"], ("FAILURE",))
    name = task_span_name("quits")
    spans = redis_stack.wait_trace(reply["trace_id"], {name: 1})
    # The main process's span (if any) ends right after task_failure, before the state is
    # stored; the child's is flushed as it exits. Both are in by the time a later task of
    # the same worker has been exported: wait for that one.
    later = redis_stack.get("/run/encode/")
    redis_stack.wait_trace(later["trace_id"], {task_span_name("encode"): 1})
    spans = in_trace(receiver.spans, reply["trace_id"])
    found = _consumers(spans, name)
    assert len(found) == 1, [(s.span_id, s.attributes, s.resource.get("process.pid"))
                             for s in found]
    [span] = found
    assert span.attributes["error.type"] == "SystemExit"
    assert one(spans, name).attributes["messaging.message.id"] == reply["task_id"]


@pytest.mark.parametrize(("status", "spans_from_main"), [
    ("exitcode 155", 0),  # recycled (max_tasks_per_child) before its result was read
    ("exitcode 0", 0),  # left at shutdown before its result was read
    ("signal 9 (SIGKILL)", 1),  # killed mid-task: only the main process can end a span
    ("exitcode 3", 1),  # os._exit(3) mid-task: no task_postrun ran in the child
])
def test_main_process_ends_a_span_only_for_a_child_that_could_not(
        status: str, spans_from_main: int) -> None:
    # The main process's side through Celery's own Request.on_failure (no pool: the race
    # of a child's exit with the read of its result cannot be timed from outside).
    import uuid

    from billiard.einfo import ExceptionInfo
    from celery import Celery
    from celery.contrib.testing.mocks import TaskMessage
    from celery.exceptions import WorkerLostError
    from celery.worker.request import Request

    from django_tracekit.core import naming
    from django_tracekit.testing import capture_spans

    app = Celery("lost", set_as_current=False, broker="memory://", backend="cache+memory://")

    @app.task(name=f"tests.lost_{uuid.uuid4().hex}")  # type: ignore[untyped-decorator]
    def work() -> int:
        return 1

    task_id = str(uuid.uuid4())
    request = Request(TaskMessage(work.name, id=task_id), app=app, task=work)
    try:
        raise WorkerLostError(f"Worker exited prematurely: {status} Job: 7.")
    except WorkerLostError:
        einfo = ExceptionInfo()
    with capture_spans() as spans:
        request.on_failure(einfo)
    mine = [s for s in spans if s.name == naming.name_for(work.run)]
    assert len(mine) == spans_from_main
    assert app.AsyncResult(task_id).state == "FAILURE"  # Celery's own outcome is unchanged
