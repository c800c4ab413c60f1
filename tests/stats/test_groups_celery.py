"""Error groups from a real prefork Celery worker: a task failing three times (one raise
location, in a helper the task calls) is one group of 3, under the task as entry point."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env, free_port

SETTINGS = "tests.stats.errors_project.celery_settings"
TASK = "tests/celery/project/tasks/charge"


def _rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        try:
            return list(connection.execute(sql, params))
        except sqlite3.OperationalError:
            return []


@pytest.mark.requires("celery", "redis", "gunicorn")
@pytest.mark.service("redis")
def test_task_errors_grouped_under_the_task(tmp_path: Path) -> None:
    import json
    import urllib.request

    db = tmp_path / "shared.sqlite3"
    data = tmp_path / "celery"
    (data / "results").mkdir(parents=True)
    queue = f"tracekit-groups-{uuid.uuid4().hex[:12]}"
    env = clean_env(SETTINGS, TK_TRACES_DB=f"sqlite:{db}", TK_CELERY_DATA=str(data),
                    TK_CELERY_BROKER="redis://127.0.0.1:6379/13", TK_CELERY_QUEUE=queue)
    migrated = subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env,
                              capture_output=True, text=True, timeout=180)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    processes: list[GroupProcess] = []
    try:
        worker = GroupProcess("worker", [
            sys.executable, "-m", "celery", "-A", "tests.celery.project", "worker", "-P",
            "prefork", "-c", "2", "--loglevel=INFO", "-n", f"{queue}@%h", "--without-gossip",
            "--without-mingle", "--without-heartbeat"],
            {**env, "TK_SERVICE_NAME": "shop-worker"}, tmp_path / "worker.log")
        processes.append(worker)
        server = GroupProcess("gunicorn", [
            sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
            "tests.traces.project.wsgi:application"], {**env, "TK_SERVICE_NAME": "shop-web"},
            tmp_path / "gunicorn.log")
        processes.append(server)
        worker.wait_for_log(" ready.", READY_TIMEOUT_S)
        server.wait_http(f"http://127.0.0.1:{port}/healthz/", READY_TIMEOUT_S)
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/order/?task=charge",
                                        timeout=30) as reply:
                assert "task_id" in json.loads(reply.read())

        deadline = time.monotonic() + READY_TIMEOUT_S
        query = ("SELECT g.type, g.location, f.name, f.kind, f.service, SUM(b.count) FROM "
                 "tracekit_error_group g JOIN tracekit_error_group_bucket b ON "
                 "b.group_id = g.id JOIN tracekit_feature f ON f.id = b.feature_id WHERE "
                 "b.resolution = 3600 GROUP BY g.id, f.id")
        while True:
            found = _rows(db, query)
            if sum(row[5] for row in found) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        logs = "\n".join(p.log()[-3000:] for p in processes)
        for process in reversed(processes):
            process.stop(grace=5)
    assert len(found) == 1, f"{found}\n{logs}"
    error_type, location, feature, kind, service, count = found[0]
    assert error_type == "ValueError"
    assert location == "tests/celery/project/tasks/_explode"  # where raised, not charge
    assert (feature, kind, service, count) == (TASK, "task", "shop-worker", 3)
