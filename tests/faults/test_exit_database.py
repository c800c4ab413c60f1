"""Process exit with tracekit's database black-holed (issue 21, item 3).

PostgreSQL is reached through a TCP relay (tests/support/relay.py) that the test
black-holes just before SIGTERM: connections are accepted but never answered, as when a
database host vanishes behind a firewall. Before, gunicorn's worker waited in psycopg's
``wait_conn`` (``stats.store._write_retrying`` <- ``force_flush`` <- ``shutdown``) until
gunicorn's graceful timeout killed it, and a Celery worker did not exit within 70 s. Now
the write happens on the flusher thread (with a connect and statement timeout), the exit
waits for it at most the shared exit deadline (1 s), and what could not be written is
said in one line. The measured times are printed (``-s``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.http.helpers import command
from tests.support.databases import fresh_database
from tests.support.processes import REPO, GroupProcess, clean_env, free_port
from tests.support.relay import TcpRelay

pytestmark = [pytest.mark.service("postgres"), pytest.mark.requires("psycopg")]

WEB_SETTINGS = "tests.faults.exit_pg_web_settings"
CELERY_SETTINGS = "tests.faults.exit_pg_celery_settings"
# At the start of a line: the project's own handler (Celery's logging repeats it, prefixed).
UNWRITTEN = re.compile(r"^tracekit: (\d+) calls of (\d+) features(?: and \d+ kept traces)? "
                       r"not written at exit: the database did not answer within the exit "
                       r"deadline", re.MULTILINE)
# gunicorn's own stop (signal, reap: 0.8 s with everything healthy) plus the 1 s exit
# deadline, with room for a loaded machine; before, the worker took the whole graceful
# timeout (5 s) and was SIGKILLed.
WEB_STOP_BOUND_S = 4.5
# A prefork worker's warm shutdown: each child's exit (1 s deadline, in parallel) plus
# billiard's own pauses; before, it did not exit within 70 s.
CELERY_STOP_BOUND_S = 10.0


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_database("postgres") as name:
        yield name


def migrate(settings: str, name: str) -> None:
    """Straight to PostgreSQL (not through the relay)."""
    done = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--verbosity", "0"], cwd=REPO,
        env=clean_env(settings, TK_PG_PORT="5432", TK_PG_NAME=name, OTEL_SDK_DISABLED="true"),
        capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"migrate failed:\n{done.stdout}\n{done.stderr}"


def unwritten_calls(log: str) -> list[int]:
    return [int(match.group(1)) for match in UNWRITTEN.finditer(log)]


@pytest.mark.parametrize("worker", ["sync", "gthread"])
def test_gunicorn_worker_exits_within_the_deadline_with_the_database_black_holed(
        database: str, worker: str, tmp_path: Path) -> None:
    migrate(WEB_SETTINGS, database)
    port = free_port()
    requests = 40
    with TcpRelay("127.0.0.1", 5432) as relay:
        server = GroupProcess(
            f"gunicorn-{worker}", command(worker, port),  # graceful-timeout 5
            clean_env(WEB_SETTINGS, TK_PG_PORT=str(relay.port), TK_PG_NAME=database),
            tmp_path / "gunicorn.log")
        try:
            server.wait_http(f"http://127.0.0.1:{port}/healthz")
            for _ in range(requests):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello/",
                                            timeout=15) as reply:
                    assert reply.status == 200
            relay.black_hole()
            started = time.monotonic()
            os.kill(server.proc.pid, signal.SIGTERM)  # the master stops its worker gracefully
            server.proc.wait(timeout=60)
            stop_s = time.monotonic() - started
            log = server.log()
        finally:
            server.stop()
    print(f"\ngunicorn {worker}, PostgreSQL black-holed: stopped in {stop_s:.2f} s")
    lines = unwritten_calls(log)
    assert len(lines) == 1, log  # one line, for the one worker
    assert lines[0] >= requests, log  # every request is in it (and its view's function)
    assert stop_s < WEB_STOP_BOUND_S, f"stopping took {stop_s:.1f} s\n{log}"
    assert "Traceback" not in log, log


@pytest.mark.requires("celery")
@pytest.mark.service("redis")
def test_celery_prefork_worker_exits_within_the_deadline_with_the_database_black_holed(
        database: str, tmp_path: Path) -> None:
    from tests.celery.helpers import Stack

    migrate(CELERY_SETTINGS, database)
    tasks = 10
    with TcpRelay("127.0.0.1", 5432) as relay:
        # Stack wants a receiver only for its endpoint; nothing is exported here.
        stack = Stack("redis", SimpleNamespace(endpoint="http://127.0.0.1:9"),  # type: ignore[arg-type]
                      tmp_path, DJANGO_SETTINGS_MODULE=CELERY_SETTINGS,
                      TK_PG_PORT=str(relay.port), TK_PG_NAME=database)
        try:
            for task_id in stack.get(f"/batch/{tasks}/")["task_ids"]:
                stack.wait_state(task_id, ("SUCCESS",))
            relay.black_hole()
            worker = stack.worker.proc
            started = time.monotonic()
            os.kill(worker.pid, signal.SIGTERM)  # warm shutdown: children exit first
            worker.wait(timeout=90)
            stop_s = time.monotonic() - started
            log = stack.worker.log()
        finally:
            stack.stop()
    print(f"\ncelery prefork -c 2, PostgreSQL black-holed: stopped in {stop_s:.2f} s; "
          f"{sum(unwritten_calls(log))} calls reported unwritten")
    lines = unwritten_calls(log)
    # One line per process that held counts (the children ran the tasks), none silent.
    assert 1 <= len(lines) <= 3, log
    assert sum(lines) >= tasks, log
    assert stop_s < CELERY_STOP_BOUND_S, f"stopping took {stop_s:.1f} s\n{log}"
    assert "Traceback" not in log, log
