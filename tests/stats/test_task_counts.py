"""Tasks count tasks, and what ran is not "unused": a real prefork worker on Redis runs a task
that retries twice then succeeds, one that fails all three attempts and a few plain ones; a
real ``manage.py`` command runs; every process writes its stats to one SQLite file. The
numbers are read back where users read them: the usage table and its kind tabs, the CSV, the
feature page and the unused-code page."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env

SETTINGS = "tests.stats.celery_settings"
WAIT_S = 120.0
PLAIN = 4  # encode tasks sent beside the two retrying ones
TASK = "tests/celery/project/tasks/"
COMMAND = "tests/celery/project/management/commands/refresh_catalog/Command/handle"

SEND = f"""
import django
django.setup()
from tests.celery.project import tasks
tasks.flaky.delay(2)
tasks.always_fails.delay()
for n in range({PLAIN}):
    tasks.encode.delay(n)
print("sent")
"""

READ = """
import django, json, os
django.setup()
from django_tracekit.pages.unused.unused_queries import unused_functions
from django_tracekit.pages.usage import table as queries
from django_tracekit.pages.shared.window import window_from
from django_tracekit.destinations.stats.store import record_instrumented
# What the import hook records (it never instruments a "tests" package, so it is written
# here): the project's task functions and the command's handle, as a worker loads them.
record_instrumented("shop-worker", [(name, name.rpartition("/")[0].replace("/", "."))
                                    for name in json.loads(os.environ["TK_FUNCTIONS"])])
window = window_from({"range": "1h"})
tabs = {}
rows = queries.feature_table(window, kind="task", kind_totals=tabs)
unused = [f["name"] for f in unused_functions(window)]
print(json.dumps({"rows": rows, "tabs": tabs, "unused": unused}))
"""


def _run(env: dict[str, str], code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=WAIT_S + 60)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


def _totals(database: Path) -> dict[str, tuple[int, ...]]:
    """{feature: (calls, errors, retries, failed attempts, retried tasks)} of task features."""
    with sqlite3.connect(database, timeout=30) as db:
        return {name: tuple(values) for name, *values in db.execute(
            "SELECT f.name, SUM(u.calls), SUM(u.errors), SUM(u.retries), "
            "SUM(u.failed_attempts), SUM(u.retried_tasks) FROM tracekit_stats u "
            "JOIN tracekit_feature f ON f.id = u.feature_id "
            "WHERE u.resolution = 60 AND f.kind = 'task' GROUP BY f.name")}


def _wait(what: str, check: Any, logs: Any) -> Any:
    deadline = time.monotonic() + WAIT_S
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never arrived\n{logs()}")
        time.sleep(0.2)
        value = check()
    return value


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path, GroupProcess]]:
    database = tmp_path / "shared.sqlite3"
    data = tmp_path / "celery"
    (data / "results").mkdir(parents=True)
    queue = f"tracekit-stats-{uuid.uuid4().hex[:12]}"
    env = clean_env(SETTINGS, TK_TRACES_DB=f"sqlite:{database}", TK_CELERY_DATA=str(data),
                    TK_CELERY_BROKER="redis://127.0.0.1:6379/12", TK_CELERY_QUEUE=queue,
                    TK_SERVICE_NAME="shop-worker")
    migrated = subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"],
                              env=env, capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    worker = GroupProcess("worker", [
        sys.executable, "-m", "celery", "-A", "tests.celery.project", "worker",
        "-P", "prefork", "-c", "2", "--loglevel=INFO", "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env, tmp_path / "worker.log")
    try:
        worker.wait_for_log(" ready.", READY_TIMEOUT_S)
        yield env, database, worker
    finally:
        worker.stop(grace=5)


@pytest.mark.requires("celery", "redis")
@pytest.mark.service("redis")
def test_tasks_count_tasks_and_what_ran_is_used(
        stack: tuple[dict[str, str], Path, GroupProcess]) -> None:
    env, database, worker = stack
    assert _run({**env, "TK_SERVICE_NAME": "shop-web"}, SEND) == "sent"
    command = subprocess.run([sys.executable, "-m", "django", "refresh_catalog"],
                             env={**env, "TK_SERVICE_NAME": "shop-cron"},
                             capture_output=True, text=True, timeout=120)
    assert command.returncode == 0 and "refreshed" in command.stdout, command.stderr

    sent = 2 + PLAIN

    def settled() -> dict[str, tuple[int, ...]] | None:
        totals = _totals(database)
        done = sum(v[0] for v in totals.values()) >= sent and sum(
            v[2] for v in totals.values()) >= 4
        return totals if done else None

    totals = _wait("the worker's task counts", settled, worker.log)
    # calls, errors, retries, failed attempts, tasks that passed only after a retry
    assert totals[TASK + "flaky"] == (1, 0, 2, 2, 1)
    assert totals[TASK + "always_fails"] == (1, 1, 2, 3, 0)  # failed after retries: not flaky
    assert totals[TASK + "encode"] == (PLAIN, 0, 0, 0, 0)
    functions = [TASK + name for name in ("flaky", "always_fails", "encode", "catalog_size")]
    out = json.loads(_run({**env, "TK_FUNCTIONS": json.dumps([*functions, COMMAND])}, READ))
    rows = {r["name"]: r for r in out["rows"]}
    assert rows[TASK + "flaky"]["retries"] == 2 and rows[TASK + "flaky"]["error_rate"] == 0
    assert rows[TASK + "always_fails"]["error_rate"] == 1.0  # 1 of 1 task failed
    assert out["tabs"]["task"][0] == sent  # the tasks tab total is the tasks sent
    # Tasks and a command that ran are used; a task that never ran is not.
    assert TASK + "catalog_size" in out["unused"]
    for used in (TASK + "flaky", TASK + "always_fails", TASK + "encode", COMMAND):
        assert used not in out["unused"]


PAGES = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.contrib.auth.models import User
from django_tracekit.storage.usage_models import Feature
from django_tracekit.destinations.stats.store import write
import time
minute = int(time.time()) // 60
write({
    ("tests/celery/project/tasks/flaky", "task", "shop-worker", minute):
        [300, 3, 300_000_000, 5_000_000, {20: 300}, 0, None, "", 14, 15, 12],
    ("GET /videos/", "request", "shop-web", minute):
        [10, 0, 10_000_000, 2_000_000, {20: 10}, 0, None, ""],
})
User.objects.create_superuser("root", password="x")
client = Client()
client.force_login(User.objects.get(username="root"))
flaky = Feature.objects.get(kind="task")
out = {
    "tasks": client.get("/admin/django_tracekit/feature/?range=1h&kind=task").content.decode(),
    "entry": client.get("/admin/django_tracekit/feature/?range=1h").content.decode(),
    "csv": client.get("/admin/django_tracekit/feature/?range=1h&format=csv").content.decode(),
    "feature": client.get(f"/admin/django_tracekit/feature/{flaky.pk}/usage/?range=1h"
                          ).content.decode(),
}
print(json.dumps(out))
"""


def test_retries_on_the_task_tab_the_csv_and_the_feature_page(tmp_path: Path) -> None:
    from tests.stats.helpers import SITE_SETTINGS, finish, start_django

    settings = {**SITE_SETTINGS, "LOGGING_CONFIG": None,
                "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3",
                                          "NAME": str(tmp_path / "db.sqlite3")}},
                "TRACEKIT": {"EXPORTER": "none", "STATS": {"ENABLED": False}}}
    code = "from django.core.management import call_command\n" \
        "django.setup()\ncall_command('migrate', verbosity=0)\n" + PAGES.split(
            "django.setup()\n", 1)[1]
    out = json.loads(finish(start_django(code, settings, setup=False)).strip().splitlines()[-1])
    assert 'data-retries="14"' in out["tasks"]  # the Retries column of the task tab
    assert 'data-flaky="12"' in out["tasks"]
    assert "12 of 300 tasks passed only after a retry; 3 failed in the end" in out["tasks"]
    assert ">Retries<" in out["tasks"]
    assert "data-retries" not in out["entry"]  # entry points: requests have no retries
    table = list(csv.DictReader(io.StringIO(out["csv"])))
    flaky = next(r for r in table if r["kind"] == "task")
    assert (flaky["calls"], flaky["errors"], flaky["retries"], flaky["failed_attempts"],
            flaky["retried_tasks"]) == ("300", "3", "14", "15", "12")
    assert next(r for r in table if r["kind"] == "request")["retries"] == "0"
    page = out["feature"]
    assert 'id="tk-retries">14<' in page and 'id="tk-failed-attempts">15<' in page
    assert "12 of 300 tasks passed only after a retry; 3 failed in the end" in page
    assert 'id="tk-flaky">flaky<' in page
