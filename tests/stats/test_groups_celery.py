"""Error groups from a real prefork Celery worker: a task failing three times (one raise
location, in a helper the task calls) is one group of 3, under the task as entry point."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import READY_TIMEOUT_S
from tests.support.web_and_worker import WebAndWorker

SETTINGS = "tests.stats.errors_project.celery_settings"
TASK = "tests/celery/project/tasks/charge"


def _rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        try:
            return list(connection.execute(sql, params))
        except sqlite3.OperationalError:
            return []


def _wait_for_errors(db: Path, query: str, count: int) -> list[tuple[Any, ...]]:
    """The group rows of ``query`` (its last column: their counts), once they add up to
    ``count`` or the wait is over."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        found = sorted(_rows(db, query))
        if sum(row[-1] for row in found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.mark.requires("celery", "redis", "gunicorn")
@pytest.mark.service("redis")
def test_task_errors_grouped_under_the_task(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite3"
    stack = WebAndWorker(SETTINGS, tmp_path, broker="redis://127.0.0.1:6379/13",
                         queue_prefix="tracekit-groups", TK_TRACES_DB=f"sqlite:{db}")
    try:
        for _ in range(3):
            assert "task_id" in stack.get("/order/?task=charge")

        query = ("SELECT g.type, g.location, f.name, f.kind, f.service, SUM(b.count) FROM "
                 "tracekit_error_group g JOIN tracekit_error_group_bucket b ON "
                 "b.group_id = g.id JOIN tracekit_feature f ON f.id = b.feature_id WHERE "
                 "b.resolution = 3600 GROUP BY g.id, f.id")
        found = _wait_for_errors(db, query, 3)
    finally:
        logs = stack.logs(3000)
        stack.stop()
    assert len(found) == 1, f"{found}\n{logs}"
    error_type, location, feature, kind, service, count = found[0]
    assert error_type == "ValueError"
    assert location == "tests/celery/project/tasks/_explode"  # where raised, not charge
    assert (feature, kind, service, count) == (TASK, "task", "shop-worker", 3)


@pytest.mark.requires("celery", "redis", "gunicorn")
@pytest.mark.service("redis")
def test_an_on_failure_handler_that_raises_does_not_hide_the_task_failure(
        tmp_path: Path) -> None:
    """The Styleguide trial: a task's on_failure handler raised too, so Celery never sent
    task_failure and only the handler's error was an incident (1 of 7 task failures shown).
    Both are: the task's ValueError and the handler's LookupError, each once per task."""
    db = tmp_path / "shared.sqlite3"
    stack = WebAndWorker(SETTINGS, tmp_path, broker="redis://127.0.0.1:6379/13",
                         queue_prefix="tracekit-groups", TK_TRACES_DB=f"sqlite:{db}")
    query = ("SELECT g.type, g.location, f.name, SUM(b.count) FROM tracekit_error_group g "
             "JOIN tracekit_error_group_bucket b ON b.group_id = g.id JOIN tracekit_feature f "
             "ON f.id = b.feature_id WHERE b.resolution = 3600 GROUP BY g.id, f.id")
    try:
        for _ in range(2):
            assert "task_id" in stack.get("/order/?task=charge_and_mark")
        found = _wait_for_errors(db, query, 4)
    finally:
        logs = stack.logs(3000)
        stack.stop()
    task = "tests/celery/project/tasks/charge_and_mark"
    assert found == [("LookupError", "tests/celery/project/tasks/_mark_failed", task, 2),
                     ("ValueError", "tests/celery/project/tasks/_explode", task, 2)], (
        f"{found}\n{logs}")
