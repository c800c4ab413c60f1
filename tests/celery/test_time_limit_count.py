"""A task killed past its hard time limit is counted exactly once (issue 21, item 10a).

The main process sends ``task_failure(TimeLimitExceeded)`` and kills the child: SIGTERM,
then SIGKILL 0.1 s later. When the child unwinds in time it hands its counts to the main
process; when it is killed first (here: a task that blocks SIGTERM, as one stuck in C code)
the main process counts the task itself. Never both: the child's own write followed by a
marker counted twice when SIGKILL fell between the two (a loaded machine, Celery 5.7).
Real prefork workers on Redis; the stats go to a SQLite file written at each exit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.faults.exit_collectors import DownCollector
from tests.faults.test_exit import CELERY_SETTINGS, counted, migrate

pytestmark = [pytest.mark.requires("celery", "opentelemetry.exporter.otlp"),
              pytest.mark.service("redis")]

FEATURE = "tests/celery/project/tasks/hard_limited"
COUNTED_BY_MAIN = "counted by the worker's main process"
COUNTED_BY_CHILD = "its pool child counted it"
WAIT_S = 60.0


@pytest.fixture
def collector() -> Iterator[str]:
    with DownCollector() as down:
        yield down.endpoint


def run_hard_limited(tmp_path: Path, endpoint: str,
                     route: str = "hard_limited") -> tuple[int, str]:
    """Run ``hard_limited`` (time_limit 1.5 s, sleeps 30 s) once; the calls counted after
    the worker stopped, and its log."""
    from tests.celery.helpers import Stack

    db = tmp_path / "stats.sqlite3"
    migrate(CELERY_SETTINGS, db, TK_OTLP_ENDPOINT=endpoint)
    stack = Stack("redis", SimpleNamespace(endpoint=endpoint),  # type: ignore[arg-type]
                  tmp_path, DJANGO_SETTINGS_MODULE=CELERY_SETTINGS,
                  TRACEKIT_TEST_DB=str(db))
    try:
        task_id = stack.get(f"/run/{route}/")["task_id"]
        stack.wait_state(task_id, ("FAILURE",))
        # Either the child counted (and handed its counts to the main process) or the main
        # process did: wait until the main process knows which.
        deadline = time.monotonic() + WAIT_S
        while not any(line in stack.worker.log() for line in (COUNTED_BY_MAIN, COUNTED_BY_CHILD)):
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.1)
    finally:
        stack.stop()  # the main process writes what it counted at exit
    return counted(db, FEATURE, "task"), stack.worker.log_path.read_text(errors="replace")


def test_a_child_killed_before_it_counted_is_counted_by_the_main_process(
        collector: str, tmp_path: Path) -> None:
    calls, log = run_hard_limited(tmp_path, collector, "hard_limited_deaf")
    assert COUNTED_BY_MAIN in log
    assert calls == 1, log


def test_a_task_past_its_hard_time_limit_is_counted_once(collector: str,
                                                          tmp_path: Path) -> None:
    """The child unwinds on SIGTERM: it hands its counts over when it makes it within
    billiard's 0.1 s, else the main process counts the task; never both."""
    calls, log = run_hard_limited(tmp_path, collector)
    who = "the main process" if COUNTED_BY_MAIN in log else "the child (handed over)"
    print(f"\nhard time limit: counted by {who}")
    assert calls == 1, log
