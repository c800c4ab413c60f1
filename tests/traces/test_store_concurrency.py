"""Two processes (a web and a worker) write their parts of the same traces at the same
time, on an SQLite file, PostgreSQL and MariaDB: one ``Trace`` row per trace whose summary
covers both parts (services, span and error counts, bounds, reasons), every span once.
Poison (NUL, lone surrogates, 4-byte characters, a start no column holds) is cleaned or
dropped alone on each backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import fresh_database
from tests.support.race import fresh_database_fixture, race, race_settings
from tests.support.scripts import finish, start_django

TRACES, BATCH = 60, 6
T0 = 1_764_000_000_000_000

WRITER = """
import json, os, time
from django_tracekit.destinations.traces import store
from django_tracekit.destinations.traces.records import Part, SpanRow

who = os.environ["TK_WHO"]
def part(n):
    tid = f"{n:032x}"
    if who == "web":  # root (no parent), view, publish; kept by the sample
        spans = [SpanRow(f"{1:016x}", "", "GET /o/", "server", "web", T0, 30_000, False,
                         "", "", ""),
                 SpanRow(f"{2:016x}", f"{1:016x}", "shop/views/o", "internal", "web",
                         T0 + 1_000, 20_000, False, "", "", ""),
                 SpanRow(f"{3:016x}", f"{2:016x}", "apply_async/charge", "producer", "web",
                         T0 + 2_000, 1_000, False, "", "", "")]
        return Part(tid, "sample", spans, root_name="GET /o/", local_root_name="GET /o/",
                    user_id="u1")
    spans = [SpanRow(f"{10:016x}", f"{3:016x}", "shop/tasks/charge", "consumer", "worker",
                     T0 + 40_000, 50_000, True, "boom", "", ""),
             SpanRow(f"{11:016x}", f"{10:016x}", "SELECT", "client", "worker",
                     T0 + 41_000, 1_000, False, "", "", "")]
    return Part(tid, "error", spans, local_root_name="shop/tasks/charge")

wait_for_start()
for first in range(0, TRACES, BATCH):
    store.write([part(n) for n in range(first, first + BATCH)])
print("done")
"""

SUMMARY = """
import json
from django_tracekit.storage.trace_models import Trace, TraceSpan
rows = list(Trace.objects.order_by("trace_id").values_list(
    "trace_id", "root_name", "services", "span_count", "error_count", "reasons", "user_id",
    "start_us", "end_us"))
print(json.dumps({"rows": rows, "spans": TraceSpan.objects.count()}))
"""


def _race(vendor: str, name: str) -> None:
    code = f"T0 = {T0}\nTRACES = {TRACES}\nBATCH = {BATCH}\n" + WRITER
    result = race(race_settings(vendor, name), code,  # each part written twice
                  [{"TK_WHO": who} for who in ("web", "worker", "web", "worker")], SUMMARY)
    expected = [[f"{n:032x}", "GET /o/", "web,worker", 5, 1, "error,sample", "u1", T0,
                 T0 + 90_000] for n in range(TRACES)]
    assert result == {"rows": expected, "spans": 5 * TRACES}


def test_sqlite_file_two_writers_one_row_per_trace(tmp_path: Path) -> None:
    _race("sqlite", str(tmp_path / "traces.sqlite3"))


postgres_db = fresh_database_fixture("postgres", "tracekit_traces")
mariadb_db = fresh_database_fixture("mariadb", "tracekit_traces")


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_two_writers_one_row_per_trace(postgres_db: str) -> None:
    _race("postgres", postgres_db)


@pytest.mark.service("mariadb")
@pytest.mark.requires("pymysql")
def test_mariadb_two_writers_one_row_per_trace(mariadb_db: str) -> None:
    _race("mariadb", mariadb_db)


POISON = """
import json
from django.core.management import call_command
from django_tracekit.destinations.traces import store
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.destinations.traces.records import Part, SpanRow
call_command("migrate", verbosity=0)
BOX = "\\U0001f4e6"
def row(n, name, start=T0):
    return SpanRow(f"{n:016x}", "", name, "internal", "web", start, 1, True, "m\\x00" + BOX,
                   json.dumps({"k": "v" + BOX}, ensure_ascii=False), "")
parts = [Part(f"{1:032x}", "error", [row(1, "nul\\x00"), row(2, "lone\\ud800"),
                                     row(3, "box " + BOX), row(4, "x" * 300),
                                     row(5, "late", start=2 ** 63)], root_name="r" + BOX),
         Part(f"{2:032x}", "error", [row(1, "fine")])]
written = store.write(parts)
print(json.dumps({"written": written, "names": sorted(TraceSpan.objects.values_list(
    "name", flat=True)), "traces": Trace.objects.count(), "rejected": store.rejected["spans"]}))
"""


_MARIADB = [pytest.mark.service("mariadb"), pytest.mark.requires("pymysql")]


@pytest.mark.parametrize(("vendor", "charset"), [
    ("sqlite", ""),
    pytest.param("postgres", "", marks=[pytest.mark.service("postgres"),
                                        pytest.mark.requires("psycopg")], id="postgres"),
    pytest.param("mariadb", "utf8mb4", marks=_MARIADB, id="mariadb-utf8mb4"),
    pytest.param("mariadb", "utf8", marks=_MARIADB, id="mariadb-utf8")])
def test_poison_is_cleaned_or_dropped_alone_on_every_backend(
        vendor: str, charset: str, tmp_path: Path) -> None:
    box = "\U0001f4e6"

    def run(name: str) -> dict[str, Any]:
        settings = race_settings(vendor, name)
        if vendor == "mariadb":
            settings["DATABASES"]["default"]["OPTIONS"] = {"charset": charset}
        out = finish(start_django(f"T0 = {T0}\n" + POISON, settings))
        return dict(json.loads(out.strip().splitlines()[-1]))

    if vendor == "sqlite":
        result = run(str(tmp_path / "poison.sqlite3"))
    else:
        with fresh_database(vendor, "tracekit_poison") as name:
            result = run(name)
    stored_box = "\ufffd" if charset == "utf8" else box
    assert result["traces"] == 2 and result["rejected"] == 1
    assert result["names"] == sorted(["nul", "lone\ufffd", f"box {stored_box}", "x" * 255,
                                      "fine"])
    assert result["written"] == 5
