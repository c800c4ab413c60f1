"""A task killed past its hard time limit is counted exactly once (issue 21, item 10a).

The main process sends ``task_failure(TimeLimitExceeded)`` and kills the child: SIGTERM,
then SIGKILL 0.1 s later. When the child unwinds in time it counts the task itself; when it
is killed first (here: ``REMAP_SIGTERM=SIGQUIT``, so the child ignores SIGTERM, as on
Heroku) the count was lost. Now the main process counts it then, and only then.
Real prefork workers on Redis; the stats go to a SQLite file written at each exit.
"""

from __future__ import annotations

import os
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
WAIT_S = 60.0


@pytest.fixture
def collector() -> Iterator[str]:
    with DownCollector() as down:
        yield down.endpoint


def run_hard_limited(tmp_path: Path, endpoint: str, **worker_env: str) -> tuple[int, str]:
    """Run ``hard_limited`` (time_limit 1.5 s, sleeps 30 s) once; the calls counted after
    the worker stopped, and its log."""
    from tests.celery.helpers import Stack

    db = tmp_path / "stats.sqlite3"
    migrate(CELERY_SETTINGS, db, TK_OTLP_ENDPOINT=endpoint)
    stack = Stack("redis", SimpleNamespace(endpoint=endpoint),  # type: ignore[arg-type]
                  tmp_path, worker_env=worker_env, DJANGO_SETTINGS_MODULE=CELERY_SETTINGS,
                  TRACEKIT_TEST_DB=str(db))
    try:
        task_id = stack.get("/run/hard_limited/")["task_id"]
        stack.wait_state(task_id, ("FAILURE",))
        # Either the child counted (and left its marker, which the main process takes) or
        # the main process did: wait until one of them has.
        marker = Path(f"/tmp/tracekit-counted-{os.getuid()}-{stack.worker.proc.pid}")
        deadline = time.monotonic() + WAIT_S
        while not (COUNTED_BY_MAIN in stack.worker.log()
                   or (marker.is_dir() and not (marker / task_id).exists()
                       and counted(db, FEATURE, "task") == 1)):
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.1)
    finally:
        stack.stop()  # the main process writes what it counted at exit
    return counted(db, FEATURE, "task"), stack.worker.log_path.read_text(errors="replace")


def test_a_child_killed_before_it_counted_is_counted_by_the_main_process(
        collector: str, tmp_path: Path) -> None:
    calls, log = run_hard_limited(tmp_path, collector, REMAP_SIGTERM="SIGQUIT")
    assert calls == 1, log


def test_a_task_past_its_hard_time_limit_is_counted_once(collector: str,
                                                          tmp_path: Path) -> None:
    """The child unwinds on SIGTERM: it counts when its write makes it within billiard's
    0.1 s, else the main process does; never both."""
    calls, log = run_hard_limited(tmp_path, collector)
    who = "the main process" if COUNTED_BY_MAIN in log else "the child"
    print(f"\nhard time limit: counted by {who}")
    assert calls == 1, log
