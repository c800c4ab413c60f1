"""N processes flush the same keys at the same moment: the totals are exact.

Each backend gets its own, freshly created database (parallel runs never share rows).
Minutes before the merge watermark (the race's default, long past) are written into the
merged rows under their row locks; current minutes into each process's own rows, merged
afterwards (the ``own`` tests): exact before and after the merge.
"""

from __future__ import annotations

import hashlib
import inspect
import time
from pathlib import Path
from typing import Any

import pytest

from django_tracekit.core.sketch import Users, hash_user
from tests.support.race import fresh_database_fixture, race, race_settings

PROCESSES = 6
FLUSHES = 5  # per process
FEATURES = 40  # distinct features per flush, the same in every process


def users_per_flush(feature: int) -> int:
    """New users per process, flush and minute: feature 0 goes beyond the exact form."""
    return 120 if feature == 0 else feature % 3

# Every process writes the same keys (same features, same two minutes), all released at
# one instant; each flush is retried until it succeeds (as the flusher thread would).
WORKER = """
import time
from django_tracekit.destinations.stats import store
from django_tracekit.core.sketch import Users, hash_user
process = os.environ["TK_PROCESS"]
minute = int(os.environ.get("TK_MINUTE", "29000040"))
def batch(flush):
    incs = {}
    for f in range(FEATURES):
        for m in (minute, minute + 1):
            users = Users()
            for u in range(users_per_flush(f)):
                users.add(hash_user(f"{process}-{flush}-{m}-{u}"))
            incs[(f"shop/feature/{f}", "function", "web", m)] = [
                3, 1, 3_000_000 * (f + 1), 2_000_000 * (f + 1), {40: 2, 50 + f % 5: 1}, 0,
                users, "2.0"]
    return incs
wait_for_start()
for flush in range(FLUSHES):
    for attempt in range(50):
        try:
            store.write(batch(flush), method=os.environ["TK_METHOD"])
            break
        except Exception:
            if attempt == 49:
                raise
            time.sleep(0.05)
"""

TOTALS = """
from django.db.models import Sum, Max
import hashlib
from django_tracekit.models import Feature
from django_tracekit.core import histogram, sketch
from django_tracekit.storage.usage_models import FeatureStats
out = {"features": Feature.objects.count()}
for res in (60, 3600, 86400):
    rows = FeatureStats.objects.filter(resolution=res)
    out[str(res)] = list(rows.aggregate(
        c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
        m=Max("duration_max_us")).values())
    out[str(res) + "rows"] = rows.count()
    out[str(res) + "hist"] = sum(sum(histogram.unpack(data).values())
                                 for data in rows.values_list("latency", flat=True))
    out[str(res) + "version"] = list(rows.filter(version="2.0").aggregate(
        c=Sum("calls"), e=Sum("errors")).values()) if res != 60 else None
for res in (60, 3600, 86400, 604800):
    out[str(res) + "users"] = {
        name: hashlib.sha256(sketch.merge(bytes(s) for s in FeatureStats.objects.filter(
            feature__name=name, resolution=res).values_list("users", flat=True)).dumps()
            ).hexdigest()
        for name in Feature.objects.values_list("name", flat=True)}
print(json.dumps(out))
"""


def _run_race(vendor: str, name: str, method: str = "auto",
              minute: int = 29_000_040) -> dict[str, Any]:
    code = (f"FEATURES = {FEATURES}\nFLUSHES = {FLUSHES}\n"
            + inspect.getsource(users_per_flush) + WORKER)
    summary = TOTALS if minute == 29_000_040 else OWN_TOTALS.format(merge_at=(minute + 2) * 60
                                                                     + 4 * 3600)
    return dict(race(race_settings(vendor, name), code,
                     [{"TK_METHOD": method, "TK_PROCESS": str(p), "TK_MINUTE": str(minute)}
                      for p in range(PROCESSES)], summary))


# Own rows: the sums over every row of a key, before and after the merge, and the rows.
OWN_TOTALS = """
from django.db.models import Sum, Max
import hashlib
from django_tracekit.models import Feature
from django_tracekit.core import histogram, sketch
from django_tracekit.destinations.stats import merging
from django_tracekit.storage.usage_models import FeatureStats
def sums():
    out = {{}}
    for res in (60, 3600):
        rows = FeatureStats.objects.filter(resolution=res)
        out[str(res)] = list(rows.aggregate(
            c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
            m=Max("duration_max_us")).values())
        out[str(res) + "hist"] = sum(sum(histogram.unpack(data).values())
                                     for data in rows.values_list("latency", flat=True))
        out[str(res) + "users"] = {{
            name: hashlib.sha256(sketch.merge(bytes(s) for s in rows.filter(
                feature__name=name).values_list("users", flat=True)).dumps()).hexdigest()
            for name in Feature.objects.values_list("name", flat=True)}}
        out[str(res) + "rows"] = rows.count()
        out[str(res) + "writers"] = rows.values("writer").distinct().count()
    return out
out = {{"before": sums()}}
out["merged"] = merging.merge("default", now={merge_at})
out["after"] = sums()
print(json.dumps(out))
"""


def _current_minute() -> int:
    """A minute after the race's migration (its merge watermark), in the same hour as the
    next one."""
    minute = int(time.time()) // 60 + 1
    return minute + 1 if minute % 60 == 59 else minute


def _expected_own(found: dict[str, Any], minute: int) -> None:
    full = _expected(minute)
    for state, resolutions in (("before", ("60",)), ("after", ("60", "3600"))):
        sums = found[state]
        for res in resolutions:
            assert sums[res] == full[res], (state, res)
            assert sums[res + "hist"] == full[res + "hist"], (state, res)
            assert sums[res + "users"] == full[res + "users"], (state, res)
            assert sums[res + "writers"] == (PROCESSES if state == "before" else 1)
    # Before: one minute row per process and key (nobody waited on another's row) and no
    # hour row (flushes write none); after the merge: one row per key, the merged row
    # (writer 0), and the hour's row built from the merged minutes.
    assert found["before"]["60rows"] == PROCESSES * FEATURES * 2
    assert found["before"]["3600rows"] == 0
    assert (found["after"]["60rows"], found["after"]["3600rows"]) == (FEATURES * 2, FEATURES)
    assert found["merged"] == (PROCESSES - 1) * FEATURES * 2


def _expected(minute: int = 29_000_040) -> dict[str, Any]:
    writes = PROCESSES * FLUSHES
    calls = writes * FEATURES * 2 * 3
    errors = writes * FEATURES * 2
    dsum = writes * 2 * sum(3_000 * (f + 1) for f in range(FEATURES))
    dmax = 2_000 * FEATURES
    # Every process's users of a feature, merged in one place: the same bytes, not a user
    # lost to a concurrent read-modify-write.
    users = {}
    for f in range(FEATURES):
        merged = Users()
        for p in range(PROCESSES):
            for flush in range(FLUSHES):
                for m in (minute, minute + 1):
                    for u in range(users_per_flush(f)):
                        merged.add(hash_user(f"{p}-{flush}-{m}-{u}"))
        users[f"shop/feature/{f}"] = hashlib.sha256(merged.dumps()).hexdigest()
    return {"features": FEATURES,
            **{str(r): [calls, errors, dsum, dmax] for r in (60, 3600, 86400)},
            "60rows": FEATURES * 2, "3600rows": FEATURES, "86400rows": FEATURES,
            **{f"{r}hist": writes * FEATURES * 2 * 3 for r in (60, 3600, 86400)},
            "60version": None, **{f"{r}version": [calls, errors] for r in (3600, 86400)},
            **{f"{r}users": users for r in (60, 3600, 86400, 604800)}}


@pytest.mark.parametrize("method", ["auto", "orm"])
def test_sqlite_file_concurrent_flushes_exact(tmp_path: Path, method: str) -> None:
    assert _run_race("sqlite", str(tmp_path / "stats.sqlite3"), method) == _expected()


postgres_db = fresh_database_fixture("postgres", "tracekit_stats")
mariadb_db = fresh_database_fixture("mariadb", "tracekit_stats")


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_concurrent_flushes_exact(postgres_db: str) -> None:
    assert _run_race("postgres", postgres_db) == _expected()


@pytest.mark.service("mariadb")
@pytest.mark.requires("pymysql")
def test_mariadb_concurrent_flushes_exact(mariadb_db: str) -> None:
    assert _run_race("mariadb", mariadb_db) == _expected()


@pytest.mark.parametrize("method", ["auto", "orm"])
def test_sqlite_file_own_rows_exact_and_merged(tmp_path: Path, method: str) -> None:
    minute = _current_minute()
    _expected_own(_run_race("sqlite", str(tmp_path / "stats.sqlite3"), method, minute=minute),
                  minute)


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_own_rows_exact_and_merged(postgres_db: str) -> None:
    minute = _current_minute()
    _expected_own(_run_race("postgres", postgres_db, minute=minute), minute)


@pytest.mark.service("mariadb")
@pytest.mark.requires("pymysql")
def test_mariadb_own_rows_exact_and_merged(mariadb_db: str) -> None:
    minute = _current_minute()
    _expected_own(_run_race("mariadb", mariadb_db, minute=minute), minute)


# One process, three flushes into its own rows, each changing other columns (PostgreSQL
# sets a remembered row by id, sending only the columns some row of the flush changes).
COLUMNS_WORKER = """
from django_tracekit.core.sketch import Users, hash_user
from django_tracekit.destinations.stats import store
key = ("GET /c/", "request", "web", int(os.environ["TK_MINUTE"]))
users = Users()
for name in ("ann", "bob"):
    users.add(hash_user(name))
wait_for_start()
store.write({key: [2, 0, 10_000_000, 5_000_000, {200: 2}, 0, None, "", 0, 0, 0]})
store.write({key: [3, 1, 120_000_000, 40_000_000, {300: 3}, 2, users, "", 0, 0, 0]})
store.write({key: [1, 0, 10_000_000, 10_000_000, {250: 1}, 0, None, "", 1, 1, 1]})
"""

COLUMNS_SUMMARY = """
from django_tracekit.core import histogram, sketch
from django_tracekit.storage.usage_models import FeatureStats
print(json.dumps(sorted(
    [r, w != 0, *counters, sum(histogram.unpack(data).values()),
     sketch.count([bytes(users)])]
    for r, w, *counters, data, users in FeatureStats.objects.values_list(
        "resolution", "writer", "calls", "errors", "duration_sum_us", "duration_max_us",
        "n_plus_one", "retries", "failed_attempts", "retried_tasks", "latency", "users"))))
"""


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_own_row_keeps_the_columns_a_flush_leaves_alone(postgres_db: str) -> None:
    found = race(race_settings("postgres", postgres_db), COLUMNS_WORKER,
                 [{"TK_MINUTE": str(_current_minute())}], COLUMNS_SUMMARY)
    # calls, errors, sum and max (us), N+1, retries, failed attempts, retried tasks,
    # histogram count, users
    row = [6, 1, 140_000, 40_000, 2, 1, 1, 1, 6, 2]
    assert found == [[60, True, *row]]  # the minute row (the merge builds the hour's)
