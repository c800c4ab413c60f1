"""One row per feature per flush on PostgreSQL, counted by PostgreSQL itself
(``pg_stat_user_tables``: the tuples inserted, updated and deleted):
the first flush creates each feature's minute row, every later flush in the same minute
updates it (the merge adds closed minutes to their hour rows), on the vendor statements
and on the generic path."""

from __future__ import annotations

import json

import pytest

from tests.stats.helpers import database_settings, finish, start_django
from tests.support.databases import fresh_database

pytestmark = [pytest.mark.service("postgres"), pytest.mark.requires("psycopg")]

FEATURES = 1_000

FLUSHES = """
import json, os, time
from django.core.management import call_command
from django.db import connection
from django_tracekit.destinations.stats import store

call_command("migrate", verbosity=0)
FEATURES = int(os.environ["TK_FEATURES"])
minute = int(time.time()) // 60

def tuples():
    with connection.cursor() as cursor:
        # This backend's counts, flushed to the shared statistics when it went idle.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM "
                       "pg_stat_user_tables WHERE relname LIKE 'tracekit%%'")
        return {name: int(n) for name, n in cursor.fetchall()}

out = []
for flush in range(3):
    increments = {(f"GET /shop/view{i}/", "request", "web", minute):
                  [3, 1, 6_000_000, 3_000_000, {300: 1, 320: 2}, 0, None, "2.0", 0, 0, 0]
                  for i in range(FEATURES)}
    before = tuples()
    store.write(increments, method=os.environ["TK_METHOD"])
    after = tuples()
    out.append({name: n - before.get(name, 0) for name, n in after.items()
                if n != before.get(name, 0)})
print(json.dumps(out))
"""


@pytest.mark.parametrize("method", ["auto", "orm"])
def test_a_flush_writes_one_row_per_feature(method: str) -> None:
    with fresh_database("postgres", "tk_rows") as name:
        settings = {"INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth",
                                       "django_tracekit"],
                    "DATABASES": {"default": database_settings("postgres", name)},
                    "LOGGING_CONFIG": None, "USE_TZ": True, "TRACEKIT": {"ENABLED": False}}
        process = start_django(FLUSHES, settings, env={"TK_FEATURES": str(FEATURES),
                                                       "TK_METHOD": method})
        first, *steady = json.loads(finish(process, timeout=600).strip().splitlines()[-1])
    # The first flush: the features, and each one's minute row (the generic path inserts
    # it empty, then merges into it).
    assert first["tracekit_feature"] == FEATURES
    assert first["tracekit_stats"] == (1 if method == "auto" else 2) * FEATURES
    for counted in steady:
        assert counted == {"tracekit_stats": FEATURES}, counted
