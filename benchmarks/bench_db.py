"""Added cost of a traced SQL query: ``SELECT id, name FROM bench_item WHERE id = %s``
through a Django cursor (``connection.cursor()``, ``execute``, ``fetchone``).

    python benchmarks/bench_db.py        (from the repository root)

Contenders, one process, interleaved rounds, each on its own connection to the same kind
of database (SQLite in memory; PostgreSQL too when it is reachable):

- ``no tracing``: the connection without any wrapper;
- ``tracekit (default)``: the default configuration a user gets (stats on, the trace
  store on, no exporter), the connection with tracekit's execute wrapper;
- ``tracekit, outside any trace``: the same, with no span around (a thread or command
  outside any trace): no span is made;
- ``Django CursorDebugWrapper``: what ``DEBUG=True`` does to every query (each recorded in
  ``connection.queries`` and logged to ``django.db.backends``);
- ``contrib dbapi``: OpenTelemetry's ``opentelemetry-instrumentation-sqlite3`` /
  ``-psycopg`` (both on ``-dbapi``) on the connection, its spans going to the same
  (tracekit's) provider and processors.

Each traced contender runs what a request does: a parent span (``tracekit.span``) around
``CALLS`` queries (the same statement: tracekit's N+1 event is part of the cost). The
parent alone is timed too and subtracted, so the figure is what one query adds.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from _postgres import scratch_database  # noqa: E402
from _timing import interleaved_samples  # noqa: E402
from django.conf import settings  # noqa: E402

CALLS = 50
ROUNDS = 9
SQL = "SELECT id, name FROM bench_item WHERE id = %s"
KINDS = ("plain", "tracekit", "debug", "contrib")


def sqlite_settings() -> dict[str, Any]:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}


settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"],
    # Unmigrated: the stats and the trace store keep what they record in memory.
    DATABASES={"default": sqlite_settings(),
               **{f"sqlite_{kind}": sqlite_settings() for kind in KINDS}},
    TRACEKIT={"PROJECT_NAME": "bench"},  # every other key at its default
)
django.setup()

import django_tracekit as tracekit  # noqa: E402
from django_tracekit import bootstrap  # noqa: E402
from django_tracekit.sources.db import install  # noqa: E402


def prepare(alias: str, kind: str, provider: Any) -> Any:
    """Connect ``alias``, create its table, and make it the ``kind`` contender."""
    from django.db import connections

    connection = connections[alias]
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_item (id integer PRIMARY KEY, "
                       "name varchar(100))")
        cursor.execute("DELETE FROM bench_item")
        cursor.execute("INSERT INTO bench_item (id, name) VALUES (1, 'one')")
    if kind != "tracekit":
        install.detach(connection)
    if kind == "debug":
        connection.force_debug_cursor = True
    elif kind == "contrib":
        if connection.vendor == "sqlite":
            from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

            connection.connection = SQLite3Instrumentor.instrument_connection(
                connection.connection, tracer_provider=provider)
        else:
            from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

            PsycopgInstrumentor.instrument_connection(connection.connection,
                                                      tracer_provider=provider)
    return connection


def queries(connection: Any) -> None:
    for _ in range(CALLS):
        with connection.cursor() as cursor:
            cursor.execute(SQL, [1])
            cursor.fetchone()


def in_request(connection: Any | None) -> Callable[[], None]:
    def run() -> None:
        with tracekit.span("request"):
            if connection is not None:
                queries(connection)
    return run


def measure(title: str, prefix: str, provider: Any, seconds_per_round: float,
            rounds: int = ROUNDS) -> None:
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    conns = {kind: prepare(f"{prefix}_{kind}", kind, provider) for kind in KINDS}

    # Each contender traces what it should (and only that).
    ended: list[str] = []

    class Count(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            ended.append(span.name)

    counter = Count()
    provider.add_span_processor(counter)
    for kind in KINDS:
        ended.clear()
        in_request(conns[kind])()
        client = [n for n in ended if n != "request"]
        expected = CALLS if kind in ("tracekit", "contrib") else 0
        assert len(client) == expected, (kind, ended[:5])
    ended.clear()
    queries(conns["tracekit"])
    assert ended == []  # outside any trace: no span
    counter.on_end = lambda span: None  # type: ignore[method-assign]

    samples = interleaved_samples({
        "no tracing": lambda: queries(conns["plain"]),
        "debug": lambda: queries(conns["debug"]),
        "tracekit, outside any trace": lambda: queries(conns["tracekit"]),
        "tracekit request": in_request(conns["tracekit"]),
        "contrib request": in_request(conns["contrib"]),
        "request, no queries": in_request(None),
    }, seconds_per_round=seconds_per_round, rounds=rounds)
    conns["debug"].queries_log.clear()

    def per_query(name: str, parent: str | None = None) -> list[float]:
        if parent is None:
            return [t / CALLS for t in samples[name]]
        return [(t - p) / CALLS for t, p in zip(samples[name], samples[parent], strict=True)]

    none = per_query("no tracing")

    def added(values: list[float]) -> list[float]:
        return [v - n for v, n in zip(values, none, strict=True)]

    rows = {
        "tracekit (default)": added(per_query("tracekit request", "request, no queries")),
        "contrib dbapi": added(per_query("contrib request", "request, no queries")),
        "Django CursorDebugWrapper (DEBUG=True)": added(per_query("debug")),
        "tracekit, outside any trace (no span)": added(per_query("tracekit, outside any trace")),
    }
    med = statistics.median
    base = med(none)
    ours = rows["tracekit (default)"]
    print(f"\n## One query through a Django cursor, {title}")
    print("| contender | µs per query | added µs | tracekit added vs this added | "
          "total vs no tracing |")
    print("|---|---:|---:|---:|---:|")
    print(f"| no tracing | {base * 1e6:.2f} | 0.00 | - | 1.0x |")
    for name, values in rows.items():
        # Ratio of the medians: a per-round ratio swings wildly when a round trip's noise
        # is as large as the cost measured (PostgreSQL on a busy machine).
        ratio = "-" if name.startswith("tracekit") else f"{med(ours) / med(values):.2f}x"
        print(f"| {name} | {(base + med(values)) * 1e6:.2f} | {med(values) * 1e6:.2f} | "
              f"{ratio} | {(base + med(values)) / base:.2f}x |")
    for connection in conns.values():
        connection.close()


def main() -> None:
    state = bootstrap.state()
    assert state is not None and state.active and state.provider is not None, state
    measure("SQLite (in memory)", "sqlite", state.provider, 0.05)
    with scratch_database("tk_bench_db") as database:
        if database is None:
            return
        from django.db import connections

        for kind in KINDS:
            connections.settings[f"pg_{kind}"] = connections.configure_settings(
                {"default": sqlite_settings(), f"pg_{kind}": dict(database)})[f"pg_{kind}"]
        # A round trip varies more than the work measured: longer rounds.
        measure("PostgreSQL (psycopg 3, local TCP)", "pg", state.provider, 0.4, rounds=15)


if __name__ == "__main__":
    main()
