"""Log volume of an outage in a prefork pool whose children live for one task
(issue 21, item 7).

With ``--max-tasks-per-child 1`` and the collector down, every task runs in a new child:
a once-a-minute limit per process let each child log its own lines (300 tasks wrote 1,077
lines before: the SDK's retry warning, tracekit's exporter failure and its exit line, each
once per child). The limits are shared by the pool's children now: an outage is a few
lines. The figure is printed (``-s``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.faults.exit_collectors import DownCollector
from tests.faults.test_exit import CELERY_SETTINGS, migrate, wait_counted

pytestmark = [pytest.mark.requires("celery", "opentelemetry.exporter.otlp"),
              pytest.mark.service("redis")]

# 60 by default (one child per task: about 3 tasks/s); the 300 with TK_LOG_VOLUME_TASKS.
TASKS = int(os.environ.get("TK_LOG_VOLUME_TASKS", "60"))
MAX_LINES = 10
# Every WARNING or worse a process of the worker wrote, in Celery's format (each record
# once: the project's own stderr handler repeats tracekit's lines without this prefix).
LOGGED = re.compile(r"^\[[^\]]*: (WARNING|ERROR|CRITICAL)/", re.MULTILINE)


def test_an_outage_is_a_few_lines_for_a_pool_whose_children_run_one_task_each(
        tmp_path: Path) -> None:
    from tests.celery.helpers import Stack

    with DownCollector() as down:
        db = tmp_path / "stats.sqlite3"
        migrate(CELERY_SETTINGS, db, TK_OTLP_ENDPOINT=down.endpoint)
        stack = Stack("redis", SimpleNamespace(endpoint=down.endpoint),  # type: ignore[arg-type]
                      tmp_path, worker_args=("--max-tasks-per-child", "1"),
                      DJANGO_SETTINGS_MODULE=CELERY_SETTINGS, TRACEKIT_TEST_DB=str(db))
        try:
            ready_at = len(stack.worker.log())
            assert len(stack.get(f"/batch/{TASKS}/")["task_ids"]) == TASKS
            # Counted at each child's exit: every child has run, logged and exited.
            wait_counted(stack, db, "encode", TASKS, timeout=5.0 * TASKS)
            log = stack.worker.log()[ready_at:]
        finally:
            stack.stop()
    lines = [m.group(0) for m in LOGGED.finditer(log)]
    print(f"\ncelery --max-tasks-per-child 1, collector down, {TASKS} tasks: "
          f"{len(lines)} WARNING/ERROR lines")
    assert 1 <= len(lines) <= MAX_LINES, log[-6000:]  # the outage is said, not flooded
