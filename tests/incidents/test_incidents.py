"""What the admin's error numbers say, on a real gunicorn server and a real prefork Celery
worker (Redis) of a forum-shaped project (tests/incidents/project/forum), "truthful errors":

- a validator raising ``ValidationError`` that the form's loop catches (200) is a handled
  exception: on its span (the event, "raised"), not an error group, not an error of the
  request, not an error trace; the same validator's error escaping (500) is one incident,
  counted once, where raised; a view's exception a middleware's ``process_exception``
  answers is handled too;
- a task that logs an exception (``logger.exception``) and returns is not a failed task nor
  a failed attempt; the logged exception is one incident in its group, its trace kept;
- a middleware factory, called once when Django loads the middleware, whose nested function
  runs on every request, is not unused code; nor is a function only ``ready()`` calls.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import READY_TIMEOUT_S, REPO
from tests.support.web_and_worker import WebAndWorker

pytestmark = [pytest.mark.requires("celery", "redis", "gunicorn"), pytest.mark.service("redis")]

SETTINGS = "forum.settings"
PROJECT_DIR = Path(__file__).parent / "project"  # package "forum" (not under tests: traced)
PROJECT = "forum"
VALIDATOR = f"{PROJECT}/accounts/validate_username"
TASK = f"{PROJECT}/tasks/sync_profile"
FACTORY = f"{PROJECT}/middleware/request_tag_middleware"
SIGNUPS = 2  # each with 3 invalid names of 5


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        try:
            return list(connection.execute(sql, params))
        except sqlite3.OperationalError:  # not migrated / written yet
            return []


def usage(db: Path, name: str, kind: str) -> tuple[int, int, int]:
    """calls, errors, failed attempts of a feature (minute buckets, every service: every
    flush writes its minute rows; the hour rows are built from them once merged)."""
    found = rows(db, "SELECT COALESCE(SUM(u.calls), 0), COALESCE(SUM(u.errors), 0), "
                     "COALESCE(SUM(u.failed_attempts), 0) FROM tracekit_stats u JOIN "
                     "tracekit_feature f ON f.id = u.feature_id WHERE f.name = ? AND "
                     "f.kind = ? AND u.resolution = 60", name, kind)
    return found[0] if found else (0, 0, 0)


def groups(db: Path) -> dict[tuple[str, str, str], int]:
    """(type, raise location, entry point) -> count."""
    return {(t, loc, feature): n for t, loc, feature, n in rows(
        db, "SELECT g.type, g.location, f.name, SUM(b.count) FROM tracekit_error_group g "
            "JOIN tracekit_error_group_bucket b ON b.group_id = g.id JOIN tracekit_feature f "
            "ON f.id = b.feature_id WHERE b.resolution = 3600 GROUP BY g.id, f.id")}


def trace(db: Path, trace_id: str) -> tuple[int, str] | None:
    """The kept trace's error count and keep reasons."""
    found = rows(db, "SELECT error_count, reasons FROM tracekit_trace WHERE trace_id = ?",
                 trace_id)
    return found[0] if found else None


def wait_for(condition: Any, stack: WebAndWorker, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} never happened\n{stack.logs(3000)}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebAndWorker, Path,
                                                                       dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("incidents")
    db = tmp / "forum.sqlite3"
    stack = WebAndWorker(SETTINGS, tmp, broker="redis://127.0.0.1:6379/13",
                         wsgi="forum.wsgi:application", queue_prefix="tracekit-incidents",
                         TK_TRACES_DB=f"sqlite:{db}",
                         PYTHONPATH=os.pathsep.join((str(PROJECT_DIR), str(REPO))))
    try:
        seen: dict[str, Any] = {"signups": [stack.get("/signup/") for _ in range(SIGNUPS)]}
        with pytest.raises(urllib.error.HTTPError) as failed:
            stack.get("/signup-strict/?name=admin")
        assert failed.value.code == 500
        with pytest.raises(urllib.error.HTTPError) as answered:
            stack.get("/banned/")
        assert answered.value.code == 403  # the middleware's process_exception answered
        seen["sync"] = stack.get("/sync/")
        task_id = seen["sync"]["task_id"]
        wait_for(lambda: stack.get(f"/state/{task_id}/")["state"] == "SUCCESS", stack,
                 "the task's success")
        wait_for(lambda: usage(db, TASK, "task")[0] == 1
                 and usage(db, "GET /signup/", "request")[0] == SIGNUPS
                 and usage(db, "GET /signup-strict/", "request")[0] == 1
                 and usage(db, "GET /banned/", "request")[0] == 1
                 and sum(groups(db).values()) >= 2
                 and all(trace(db, s["trace_id"]) for s in seen["signups"]), stack,
                 "the stats and traces of every request and the task")
        seen["logs"] = stack.logs(3000)
        yield stack, db, seen
    finally:
        stack.stop()


def test_a_handled_validation_error_is_not_an_error_incident(
        forum: tuple[WebAndWorker, Path, dict[str, Any]]) -> None:
    _, db, seen = forum
    assert all(len(s["errors"]) == 3 for s in seen["signups"])  # the form got its messages
    found = groups(db)
    # One incident of the validator's error: the request that answered 500, counted once,
    # where it was raised. The 6 handled ones made no group and no count.
    assert found[("django.core.exceptions.ValidationError", VALIDATOR,
                  "GET /signup-strict/")] == 1, found
    assert not [k for k in found if k[2] in ("GET /signup/", "GET /banned/")], found
    # A view's exception a middleware answered (403) was handled too.
    assert usage(db, "GET /banned/", "request") == (1, 0, 0)
    assert usage(db, "GET /signup/", "request") == (SIGNUPS, 0, 0)
    assert usage(db, "GET /signup-strict/", "request") == (1, 1, 0)
    # The validator's own column says what it did: raised, 3 per form and the strict one.
    assert usage(db, VALIDATOR, "function")[1] == SIGNUPS * 3 + 1
    for signup in seen["signups"]:
        errors, reasons = trace(db, signup["trace_id"]) or (None, "")
        assert errors == 0 and "error" not in reasons.split(","), (errors, reasons)
        # The exception stays visible on the span that raised it, as handled.
        events = rows(db, "SELECT s.is_error, s.events FROM tracekit_trace_span s JOIN "
                          "tracekit_trace t ON t.id = s.trace_id WHERE t.trace_id = ? AND "
                          "s.name = ?", signup["trace_id"], VALIDATOR)
        assert len(events) == 3, events
        assert all(not is_error and "ValidationError" in json.loads(text)[0]["attributes"][
            "exception.type"] for is_error, text in events), events


def test_a_task_that_logged_an_exception_and_returned_did_not_fail(
        forum: tuple[WebAndWorker, Path, dict[str, Any]]) -> None:
    stack, db, seen = forum
    calls, errors, failed_attempts = usage(db, TASK, "task")
    assert (calls, errors, failed_attempts) == (1, 0, 0)
    # The logged exception is one incident, in its group, under the task.
    found = groups(db)
    assert found[("ConnectionError", f"{PROJECT}/tasks/fetch_profile", TASK)] == 1, found
    wait_for(lambda: trace(db, seen["sync"]["trace_id"]) is not None, stack, "the task trace")
    errors_in_trace, reasons = trace(db, seen["sync"]["trace_id"]) or (0, "")
    assert "error" in reasons.split(",") and errors_in_trace >= 1
    # ... and the trace says so: a handled error, not a failure (the pages' one rule).
    summary = subprocess.run(
        [sys.executable, "-c", "import django, json, sys; django.setup(); "
         "from django_tracekit.pages.traces import summary; "
         "from django_tracekit.storage.trace_models import Trace; "
         "t = Trace.objects.get(trace_id=sys.argv[1]); o = summary.of_traces([t.pk])[t.pk]"
         ".outcome; print(json.dumps([o.key, o.incidents]))", seen["sync"]["trace_id"]],
        env=stack.env, capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout.splitlines()[-1]) == ["handled", 1]


def test_a_middleware_factory_whose_middleware_ran_is_not_unused(
        forum: tuple[WebAndWorker, Path, dict[str, Any]]) -> None:
    stack, db, _ = forum
    wait_for(lambda: rows(db, "SELECT 1 FROM tracekit_instrumented WHERE name = ?", FACTORY),
             stack, "the list of instrumented functions")
    assert usage(db, f"{FACTORY}/middleware", "function")[0] >= SIGNUPS + 2
    found = subprocess.run(
        [sys.executable, "-c", "import django, json; django.setup(); "
         "from django_tracekit.pages.shared.window import window_from; "
         "from django_tracekit.pages.unused.unused_queries import unused_functions; "
         "print(json.dumps([f['name'] for f in unused_functions(window_from({}))]))"],
        env=stack.env, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr
    unused = json.loads(found.stdout.splitlines()[-1])
    assert FACTORY not in unused, unused
    # Called once by the app's ready() (start-up: not counted as usage): not unused either.
    assert f"{PROJECT}/signals/connect_handlers" not in unused, unused
    assert f"{PROJECT}/signals/never_called" in unused, unused  # the controls
    assert f"{PROJECT}/accounts/clean_usernames" not in unused
