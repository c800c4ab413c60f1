"""Commands on a fresh database (issue 12, item 3, the database part): ``check`` creates no
SQLite file and prints no traceback, ``migrate`` prints none either, and the stats wait
quietly, without querying a missing table on every flush, until the tables exist; then
the counts kept meanwhile are written, exactly.

The project (tests/faults/projects/runner) has a system check calling a traced function,
so ``check`` and ``migrate`` have counts to write at exit, and flushes every 50 ms.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.projects import copy_project, output, run
from tests.support.databases import fresh_database

FEATURE = "shop/inventory/count_stock"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project("runner", tmp_path)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[
    pytest.mark.service("postgres"), pytest.mark.requires("psycopg")])])
def database(request: pytest.FixtureRequest, project: Path) -> Iterator[str]:
    """TK_DB for the project: a file SQLite next to manage.py, or a new, empty PostgreSQL
    database of its own."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    with fresh_database("postgres", "tk_fresh") as name:
        yield f"postgres:{name}"


def test_check_then_migrate_on_a_fresh_database(project: Path, database: str) -> None:
    checked = run(project, "manage.py", "check", TK_DB=database, TK_FLUSH_S="0.05")
    assert checked.returncode == 0, output(checked)
    assert "Traceback" not in checked.stdout + checked.stderr, output(checked)
    assert not (project / "db.sqlite3").exists()  # check never creates the database file

    migrated = run(project, "manage.py", "migrate", TK_DB=database, TK_FLUSH_S="0.05")
    assert migrated.returncode == 0, output(migrated)
    assert "Traceback" not in migrated.stdout + migrated.stderr, output(migrated)


# In one process: flushes while the tables are missing, then migrate, then a flush.
WAIT_THEN_WRITE = """
import json
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django_tracekit.destinations import stats
from django_tracekit.storage.usage_models import FeatureStats as UsageBucket
from shop.inventory import count_stock

queries = []
def counting(execute, sql, params, many, context):
    queries.append(sql)
    return execute(sql, params, many, context)

for _ in range(3):
    count_stock()
with connection.execute_wrapper(counting):
    waiting = [stats.flush() for _ in range(20)]
call_command("migrate", verbosity=0)
written = stats.flush()
calls = UsageBucket.objects.filter(feature__name__endswith=FEATURE, resolution=60).aggregate(
    n=Sum("calls"))["n"]
print(json.dumps({"waiting": waiting, "queries": len(queries), "written": written,
                  "calls": calls}))
""".replace("FEATURE", repr(FEATURE))


def test_stats_wait_for_the_tables_without_querying_each_flush(project: Path,
                                                               database: str) -> None:
    result = run(project, "manage.py", "shell", "-c", WAIT_THEN_WRITE, TK_DB=database,
                 TK_FLUSH_S="3600")
    assert result.returncode == 0, output(result)
    assert "Traceback" not in result.stdout + result.stderr, output(result)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["waiting"] == [False] * 20  # nothing written, nothing lost...
    # ...and at most one look at the schema (SQLite: none, the file does not exist).
    assert out["queries"] <= (0 if database == "sqlite" else 1), out
    assert out["written"] is True
    assert out["calls"] == 3, out  # the counts kept while waiting, exactly
