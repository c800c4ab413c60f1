"""A real Celery worker (prefork, filesystem broker) exporting over OTLP: a task's log records
are events of its span and its error is recorded once, after Celery's own logging setup
replaced the root logger's handlers; the worker's task log lines carry the task span's ids."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import READY_TIMEOUT_S, REPO, GroupProcess, clean_env

pytestmark = pytest.mark.requires("celery", "opentelemetry.exporter.otlp.proto.http")

SETTINGS = "tests.logs.celery_project.settings"
TASK = "tests/logs/celery_project/tasks/report"
KIND_CONSUMER = 5

SEND = """
import json, django
django.setup()
import django_tracekit as tracekit
from django_tracekit import bootstrap
from tests.logs.celery_project.tasks import report
with tracekit.span("send") as span:
    result = report.delay(7)
print(json.dumps({"trace": format(span.get_span_context().trace_id, "032x"),
                  "value": result.get(timeout=60)}))
bootstrap.flush()
"""


Stack = tuple[OtlpHttpReceiver, GroupProcess, dict[str, str]]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("logs-celery")
    for sub in ("broker", "control", "results"):
        (tmp / sub).mkdir()
    with OtlpHttpReceiver() as receiver:
        env = clean_env(SETTINGS, TK_CELERY_DATA=str(tmp), TK_OTLP_ENDPOINT=receiver.endpoint)
        worker = GroupProcess("worker", [
            sys.executable, "-m", "celery", "-A", "tests.logs.celery_project", "worker",
            "-P", "prefork", "-c", "1", "--loglevel=INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat"], env, tmp / "worker.log")
        try:
            worker.wait_for_log(" ready.", READY_TIMEOUT_S)
            yield receiver, worker, env
        finally:
            worker.stop(grace=5)


def test_a_tasks_records_are_events_of_its_span(stack: Stack) -> None:
    receiver, worker, env = stack
    sent = subprocess.run([sys.executable, "-c", SEND], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0, f"{sent.stdout}\n{sent.stderr}\n{worker.log()[-4000:]}"
    data = json.loads(sent.stdout.strip().splitlines()[-1])
    assert data["value"] == 7

    def task_spans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [s for s in spans if s.trace_id == data["trace"] and s.name == TASK
                and s.kind == KIND_CONSUMER]

    try:
        (task,) = task_spans(receiver.wait_for(lambda spans: bool(task_spans(spans)), 60))
    except AssertionError:
        raise AssertionError(worker.log()[-4000:]) from None
    messages = [attrs["log.message"] for name, attrs in task.events if name == "log"]
    assert messages[:2] == ["reporting order 7", "no invoice, reporting without it"]
    # Celery's own "succeeded" line is logged while the task span is still current.
    assert len(messages) == 3 and messages[2].startswith(
        "Task tests.logs.celery_project.tasks.report[") and " succeeded in " in messages[2]
    (error,) = task.exceptions
    assert error["exception.type"] == "LookupError"
    assert "in report" in error["exception.stacktrace"]
    # Celery's task log format prints the ids tracekit put on the record.
    worker.wait_for_log(f"TASKLOG {data['trace']} {task.span_id} "
                        f"tests.logs.celery_project.tasks.report reporting order 7")
