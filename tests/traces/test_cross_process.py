"""The real thing: gunicorn serves a view that enqueues a Celery task; the task fails
later in a real prefork worker on Redis; both processes write their parts to the same
database (an SQLite file, PostgreSQL). The web part is not kept by its own process (not
an error, not sampled, not slow): the worker keeps the trace (error) and the web process
adds its part at its next flush. One ``Trace`` row: both services, the web and worker
spans with the right parents, the error."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import POSTGRES_ADMIN, fresh_database
from tests.support.web_and_worker import WebAndWorker

SETTINGS = "tests.traces.project.settings"
WAIT_S = 90.0
TASK = "tests/celery/project/tasks/charge"
PUBLISH = "apply_async/tests.celery.project.tasks.charge"


class Stack(WebAndWorker):
    def __init__(self, database: str, tmp: Path) -> None:
        super().__init__(SETTINGS, tmp, broker="redis://127.0.0.1:6379/13",
                         queue_prefix="tracekit-traces", TK_TRACES_DB=database)


def _query(database: str, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    vendor, name = database.split(":", 1)
    if vendor == "sqlite":
        with sqlite3.connect(name, timeout=30) as db:
            return list(db.execute(sql.replace("%s", "?"), params))
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN.replace("dbname=test", f"dbname={name}")) as db:
        return list(db.execute(sql, params))


def _wait_trace(stack: Stack, database: str, trace_id: str) -> tuple[tuple[Any, ...],
                                                                    list[dict[str, Any]]]:
    """Until the trace's row has both services and a task span; (row, spans)."""
    deadline = time.monotonic() + WAIT_S
    row: tuple[Any, ...] = ()
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = _query(database, "SELECT id, services, span_count, error_count, reasons, "
                      "root_name FROM tracekit_trace WHERE trace_id = %s", (trace_id,))
        if rows:
            row = rows[0]
            spans = [dict(zip(("span_id", "parent", "name", "kind", "service", "is_error",
                               "events"), r, strict=True))
                     for r in _query(database, "SELECT span_id, parent_span_id, name, kind, "
                                     "service, is_error, events FROM tracekit_trace_span "
                                     "WHERE trace_id = %s", (row[0],))]
            names = {s["name"] for s in spans}
            if row[1] == "shop-web,shop-worker" and TASK in names and any(
                    s["kind"] == "server" for s in spans):
                return row, spans
        time.sleep(0.2)
    raise AssertionError(f"trace {trace_id}: row {row}, spans "
                         f"{sorted((s['service'], s['name']) for s in spans)}\n{stack.logs()}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[
    pytest.mark.service("postgres"), pytest.mark.requires("psycopg")])])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'shared.sqlite3'}"
        return
    with fresh_database("postgres", "tk_traces") as name:
        yield f"postgres:{name}"


@pytest.mark.requires("celery", "redis", "gunicorn")
@pytest.mark.service("redis")
def test_a_task_failing_in_the_worker_shows_with_its_request(database: str,
                                                            tmp_path: Path) -> None:
    stack = Stack(database, tmp_path)
    try:
        # A warm-up, slow: the first and slowest request of its feature (kept as "slow"),
        # so the request under test is not kept by the web process (no error, no sample,
        # not slow): its part reaches the database only by joining the worker's.
        stack.get("/order/?task=encode&sleep=1.0")
        ids = stack.get("/order/?task=charge")
        row, spans = _wait_trace(stack, database, ids["trace_id"])
    finally:
        stack.stop()
    _id, services, span_count, error_count, reasons, root_name = row
    assert services == "shop-web,shop-worker"
    assert error_count >= 1 and "error" in reasons.split(",")
    assert root_name == "GET /order/"
    assert span_count == len(spans)
    by_id = {s["span_id"]: s for s in spans}
    server = next(s for s in spans if s["kind"] == "server")
    assert server["parent"] == "" and server["service"] == "shop-web"
    task = next(s for s in spans if s["name"] == TASK)
    assert task["service"] == "shop-worker" and task["is_error"]
    assert "ValueError" in task["events"] and "_explode" in task["events"]  # the stack
    publish = by_id[task["parent"]]  # the worker's span hangs under the web's publish span
    assert publish["name"] == PUBLISH and publish["service"] == "shop-web"
    # ... which hangs, through the view's span, under the request.
    ancestor = publish
    while ancestor["parent"]:
        ancestor = by_id[ancestor["parent"]]
    assert ancestor is server
