"""Poison samples (issue 12, item 7): a feature name or an error message with a NUL byte,
a lone surrogate, 4-byte characters or too many characters must not stop a process's
stats. Real flushes on PostgreSQL, MariaDB and SQLite: every flush succeeds and the counts
are exact afterwards; what no database can store (a bogus span end time) is dropped alone,
counted, and the rest of its batch written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stats.helpers import database_settings, finish, start_django
from tests.support.databases import fresh_database

BOX = "\U0001f4e6"  # 4 bytes in UTF-8
POISON = ["nul\x00name", "lone\ud800surrogate", f"box {BOX}", BOX * 300, "x" * 300]
STORED = ["nulname", "lone\ufffdsurrogate", f"box {BOX}", BOX * 255, "x" * 255]

TRAFFIC = """
import json
from django.core.management import call_command
from django.db.models import Sum
from opentelemetry import trace
import django_tracekit as tracekit
from django_tracekit.destinations import stats
from django_tracekit.storage.usage_models import ErrorGroupExample
from django_tracekit.storage.usage_models import FeatureStats as UsageBucket
from django_tracekit.destinations.stats import store

call_command("migrate", verbosity=0)
POISON = json.loads(os.environ["TK_POISON"])

def good(n):
    for _ in range(n):
        with tracekit.span("shop/good"):
            pass

flushes = []
good(5)
flushes.append(stats.flush())
for name in POISON:
    with tracekit.span(name):
        pass
    try:
        with tracekit.span("shop/failing"):
            raise ValueError(f"bad\\x00 message \\udcff {name}")
    except ValueError:
        pass
    good(5)
    flushes.append(stats.flush())

# Names MariaDB's default collation holds for equal (accents, case): one feature there.
for name in ("shop/cafe", "shop/caf\u00e9", "shop/CAFE"):
    with tracekit.span(name):
        pass
flushes.append(stats.flush())

# A span whose end time no 64-bit column holds: dropped alone, the rest written.
bogus = trace.get_tracer("django_tracekit").start_span("shop/bogus")
bogus.end(end_time=2 ** 62 * 60 * 10 ** 9)
good(5)
flushes.append(stats.flush())
good(5)
flushes.append(stats.flush())

totals = dict(UsageBucket.objects.filter(resolution=60).values("feature__name")
              .annotate(n=Sum("calls")).values_list("feature__name", "n"))
errors = dict(UsageBucket.objects.filter(resolution=60).values("feature__name")
              .annotate(n=Sum("errors")).values_list("feature__name", "n"))
messages = list(ErrorGroupExample.objects.values_list("message", flat=True))
print(json.dumps({"flushes": flushes, "totals": totals, "errors": errors,
                  "messages": messages, "rejected": dict(getattr(store, "rejected", {}))}))
"""


def run_traffic(vendor: str, name: str) -> dict[str, Any]:
    database = database_settings(vendor.split("-")[0], name)
    if vendor == "mariadb-utf8":
        del database["OPTIONS"]  # Django's default: a "utf8" (utf8mb3) connection
    settings = {"INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth",
                                   "django_tracekit"],
                "DATABASES": {"default": database},
                "LOGGING_CONFIG": None, "USE_TZ": True,
                "TRACEKIT": {"EXPORTER": "none", "PROJECT_NAME": "shop",
                             "AUTOTRACE": {"INCLUDE": []},
                             "STATS": {"FLUSH_INTERVAL_S": 3600}}}
    process = start_django(TRAFFIC, settings, env={"TK_POISON": json.dumps(POISON)})
    out: dict[str, Any] = json.loads(finish(process).strip().splitlines()[-1])
    return out


@pytest.fixture(params=[
    "sqlite",
    pytest.param("postgres", marks=[pytest.mark.service("postgres"),
                                    pytest.mark.requires("psycopg")]),
    pytest.param("mariadb", marks=[pytest.mark.service("mariadb"),
                                   pytest.mark.requires("pymysql")]),
    pytest.param("mariadb-utf8", marks=[pytest.mark.service("mariadb"),
                                        pytest.mark.requires("pymysql")]),
])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "stats.sqlite3")
        return
    with fresh_database(request.param.split("-")[0], "tk_poison") as name:
        yield request.param, name


def test_poison_samples_never_stop_the_stats(database: tuple[str, str]) -> None:
    vendor, name = database
    out = run_traffic(vendor, name)
    assert out["flushes"] == [True] * (len(POISON) + 4), out
    # MariaDB: one row, named by the spelling inserted first (features are sorted).
    cafe = ({"shop/CAFE": 3} if vendor.startswith("mariadb")
            else {"shop/cafe": 1, "shop/caf\u00e9": 1, "shop/CAFE": 1})
    # A utf8mb3 connection cannot carry 4-byte characters: they are replaced, not refused.
    stored = [n.replace(BOX, "\ufffd") if vendor == "mariadb-utf8" else n for n in STORED]
    names = [n.replace(BOX, "\ufffd") if vendor == "mariadb-utf8" else n for n in POISON]
    expected = {"shop/good": 5 * (len(POISON) + 3), "shop/failing": len(POISON),
                **dict.fromkeys(stored, 1), **cafe}
    assert out["totals"] == expected, out["totals"]
    assert out["errors"] == {**dict.fromkeys(expected, 0), "shop/failing": len(POISON)}
    assert sorted(out["messages"]) == sorted(
        f"bad message \ufffd {name}" for name in stored[:2] + names[2:]), out["messages"]
    assert out["rejected"] == {"calls": 1}  # the bogus span, nothing else
