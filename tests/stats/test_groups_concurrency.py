"""Error groups: N processes flush the same groups at the same moment, totals are exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.race import fresh_database_fixture, race, race_settings

PROCESSES = 4
FLUSHES = 5
GROUPS = 12

WORKER = """
import time
from django_tracekit.core.fingerprint import Group
from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence
from django_tracekit.destinations.stats import groups_store
process = int(os.environ["TK_PROCESS"])
minute = 29_000_040
def batch(flush):
    b = GroupBatch()
    for g in range(GROUPS):
        group = Group(f"{g:016x}", "shop.errors.Missing", f"shop/orders/find_{g}", "f.py", g)
        b.groups[group.fingerprint] = group
        for m in (minute, minute + 61):  # two hours
            b.counts[(group.fingerprint, "GET /orders/", "request", "web", m)] = g + 1
            b.counts[(group.fingerprint, "shop/tasks/sync", "task", "worker", m)] = 1
        b.examples.append(Example(group.fingerprint, "GET /orders/", "request", "web",
            Occurrence(group, (minute + flush) * 60 * 10**9 + process, f"order {process} <b>",
                       "", "ab" * 16, "cd" * 8)))
    return b
wait_for_start()
for flush in range(FLUSHES):
    for attempt in range(50):
        try:
            groups_store.write(batch(flush), method=os.environ["TK_METHOD"])
            break
        except Exception:
            if attempt == 49:
                raise
            time.sleep(0.05)
"""

TOTALS = """
from django.db.models import Sum, Min, Max
from django_tracekit.storage.usage_models import ErrorGroup, ErrorGroupBucket, ErrorGroupExample
out = {"groups": ErrorGroup.objects.count(),
       "count": ErrorGroup.objects.aggregate(n=Sum("count"))["n"],
       "first": ErrorGroup.objects.aggregate(n=Min("first_seen"))["n"],
       "last": ErrorGroup.objects.aggregate(n=Max("last_seen"))["n"],
       "examples": ErrorGroupExample.objects.count()}
for res in (3600, 86400):
    rows = ErrorGroupBucket.objects.filter(resolution=res)
    out[str(res)] = [rows.count(), rows.aggregate(n=Sum("count"))["n"]]
print(json.dumps(out))
"""


def _race(vendor: str, name: str, method: str = "auto") -> dict[str, Any]:
    code = f"GROUPS = {GROUPS}\nFLUSHES = {FLUSHES}\n" + WORKER
    return dict(race(race_settings(vendor, name), code,
                     [{"TK_METHOD": method, "TK_PROCESS": str(p)} for p in range(PROCESSES)],
                     TOTALS))


def _expected() -> dict[str, Any]:
    writes = PROCESSES * FLUSHES
    per_write = sum(2 * (g + 1) + 2 for g in range(GROUPS))
    minute = 29_000_040
    return {"groups": GROUPS, "count": writes * per_write,
            "first": minute * 60, "last": (minute + 61) * 60 + 59,
            "examples": GROUPS * 5,  # the newest five per group
            # 2 entry points x 2 hours per group; the two hours are in one day.
            "3600": [GROUPS * 2 * 2, writes * per_write],
            "86400": [GROUPS * 2, writes * per_write]}


@pytest.mark.parametrize("method", ["auto", "orm"])
def test_sqlite_concurrent_group_flushes_exact(tmp_path: Path, method: str) -> None:
    assert _race("sqlite", str(tmp_path / "groups.sqlite3"), method) == _expected()


postgres_db = fresh_database_fixture("postgres", "tracekit_groups")
mariadb_db = fresh_database_fixture("mariadb", "tracekit_groups")


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_concurrent_group_flushes_exact(postgres_db: str) -> None:
    assert _race("postgres", postgres_db) == _expected()


@pytest.mark.service("mariadb")
@pytest.mark.requires("pymysql")
def test_mariadb_concurrent_group_flushes_exact(mariadb_db: str) -> None:
    assert _race("mariadb", mariadb_db) == _expected()
