"""Stats at scale: N processes flushing at once, each through its own StatsProcessor into
``django_tracekit.destinations.stats.store.write``, on SQLite and PostgreSQL.

Shows what the database sees: rows written per flush are processes x features (the
minute row of ``tracekit_stats``; since migration 0012 the merge adds closed minutes to
their hour rows), never the number of requests (10x more
requests per flush: the same rows); and what the tables grow by.
The paper calculation for 100 processes x 1,000 features x 10 s is docs/SCALE.md.

Run: .venv/bin/python benchmarks/bench_scale.py  (PostgreSQL part needs 127.0.0.1:5432).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# TK_BENCH_CODE: another checkout to measure in the same conditions (before/after).
sys.path.insert(0, os.environ.get("TK_BENCH_CODE") or str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django
from _postgres import backend_cpu_s, scratch_database
from django.conf import settings

# Each feature's calls take one of these durations: 8 histogram bins per feature and
# minute, as a feature whose latency spreads over ~1-35 ms.
DURATIONS_MS = (1, 2, 3, 5, 8, 13, 21, 34)
ROUNDS = 3  # flushes per configuration (the same minute: later ones add to the same rows)
GROWTH_MINUTES = 60  # minutes of 1,000 features written to measure bytes per row


@dataclass
class Round:
    rows_per_process: list[int]
    seconds: float  # wall time of the slowest flush (they run at once)


def configure(database: dict[str, object]) -> None:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"],
        DATABASES={"default": database}, USE_TZ=True, SECRET_KEY="bench",
        TRACEKIT={"ENABLED": False}, LOGGING_CONFIG=None)
    django.setup()


def make_process(features: int) -> tuple[Callable[[int, int], None], Callable[[], int]]:
    """One simulated process: its own provider and StatsProcessor (as after a fork); returns
    ``feed(requests_per_feature, minute_start_ns)`` and ``flush() -> rows written``."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import SpanKind

    from django_tracekit.destinations.stats import store
    from django_tracekit.destinations.stats.processor import StatsProcessor

    written: list[int] = []

    def writer(increments: object, errors: object) -> int:
        rows = store.write(increments, errors)  # type: ignore[arg-type]
        written.append(rows)
        return rows

    processor = StatsProcessor(writer, start_thread=False)
    provider = TracerProvider(resource=Resource({"service.name": "shop-web"}))
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("django_tracekit")
    names = [f"GET /shop/view{i}/" for i in range(features)]

    def feed(requests_per_feature: int, minute_start_ns: int) -> None:
        end = minute_start_ns + 30 * 10**9  # mid-minute: one minute bucket per feature
        for n in range(requests_per_feature):
            duration = DURATIONS_MS[n % len(DURATIONS_MS)] * 10**6
            for name in names:
                tracer.start_span(name, kind=SpanKind.SERVER,
                                  start_time=end - duration).end(end_time=end)

    def flush() -> int:
        written.clear()
        processor.flush()
        return sum(written)

    return feed, flush


def flush_round(processes: list[tuple[Callable[[int, int], None], Callable[[], int]]],
                requests_per_feature: int) -> Round:
    """Every process aggregates its requests, then all flush at the same instant (the worst
    case: real processes flush out of phase)."""
    from django.db import connection

    minute = int(time.time()) // 60 * 60 * 10**9
    for feed, _ in processes:
        feed(requests_per_feature, minute)
    rows = [0] * len(processes)
    seconds = [0.0] * len(processes)
    start = threading.Barrier(len(processes))

    def run(index: int) -> None:
        start.wait()
        began = time.perf_counter()
        rows[index] = processes[index][1]()
        seconds[index] = time.perf_counter() - began
        connection.close()  # this thread's connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(processes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Round(rows, max(seconds))


def bench_writes(label: str) -> None:
    print(f"\n## {label}: rows written per flush (all processes flushing at once)")
    print("| processes | features | requests per flush per process | rows per flush per "
          "process | rows per flush, all | slowest flush s (median) | rows/s the DB took |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    configurations = [(4, 1000, 10), (4, 1000, 100),  # 10x requests: the same rows
                      (1, 1000, 10), (16, 1000, 10),  # rows grow with processes
                      (4, 100, 10)]  # and with features
    per_process: dict[tuple[int, int, int], int] = {}
    for n_processes, features, per_feature in configurations:
        processes = [make_process(features) for _ in range(n_processes)]
        rounds = [flush_round(processes, per_feature) for _ in range(ROUNDS)]
        rows = {r for rnd in rounds for r in rnd.rows_per_process}
        assert len(rows) == 1, f"processes wrote different row counts: {rows}"
        each = rows.pop()
        per_process[(n_processes, features, per_feature)] = each
        seconds = statistics.median(r.seconds for r in rounds)
        total = each * n_processes
        print(f"| {n_processes} | {features:,} | {features * per_feature:,} | {each:,} | "
              f"{total:,} | {seconds:.3f} | {total / seconds:,.0f} |")
    ratio = per_process[(4, 1000, 100)] / per_process[(4, 1000, 10)]
    print(f"\n10x requests per flush -> rows per flush x{ratio:.2f}; "
          f"16 vs 1 process -> rows per process x"
          f"{per_process[(16, 1000, 10)] / per_process[(1, 1000, 10)]:.2f} "
          f"(total x{16 * per_process[(16, 1000, 10)] / per_process[(1, 1000, 10)]:.0f}); "
          f"1,000 vs 100 features -> x"
          f"{per_process[(4, 1000, 10)] / per_process[(4, 100, 10)]:.1f}")
    each = per_process[(1, 1000, 10)]
    print(f"Per feature and flush: {each / 1000:g} rows (its minute row in "
          f"tracekit_stats, the {len(DURATIONS_MS)} latency buckets packed in them). 100 "
          f"processes x 1,000 features every 10 s: {100 * each / 10:,.0f} rows/s "
          f"(docs/SCALE.md).")


def bench_growth(label: str) -> None:
    """Bytes per stored row: one process writing ``GROWTH_MINUTES`` minutes of 1,000
    features (distinct rows: processes add to the same rows, they do not add rows)."""
    from django.db import connection

    from django_tracekit.storage.usage_models import FeatureStats

    tables = [FeatureStats._meta.db_table]
    with connection.cursor() as cursor:  # fresh storage: no space left by bench_writes
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("VACUUM")
    feed, flush = make_process(1000)
    first = (int(time.time()) // 86400 * 86400 - 86400) * 10**9  # yesterday, 00:00
    for minute in range(GROWTH_MINUTES):
        feed(len(DURATIONS_MS), first + minute * 60 * 10**9)
        flush()
    sizes = {}
    for model in (FeatureStats,):
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Live rows only: the hour and day rows were updated 60 times; autovacuum
                # lets their old versions' space be reused, FULL hands it back to measure.
                cursor.execute(f"VACUUM FULL {table}")
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            else:
                cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name IN "
                               "(SELECT name FROM sqlite_master WHERE tbl_name = %s)", [table])
            size = int(cursor.fetchone()[0])
        sizes[table] = (model.objects.count(), size)
    print(f"\n## {label}: stored size (table + indexes), {GROWTH_MINUTES} minutes x 1,000 "
          "features")
    print("| table | rows | bytes | bytes per row |")
    print("|---|---:|---:|---:|")
    for table, (rows, size) in sizes.items():
        print(f"| {table} | {rows:,} | {size:,} | {size / rows:.0f} |")


SIM_PROCESSES, SIM_FEATURES, SIM_INTERVAL_S = 100, 1_000, 10.0
CAPACITY_WRITERS, CAPACITY_SECONDS = 4, 30.0
# Each writer process stands for this many processes (their own rows and memory, taking
# turns): 4 x 25 = the simulation's 100 processes, each flushing every few seconds.
IDENTITIES = SIM_PROCESSES // CAPACITY_WRITERS


def _batch(features: int, minute: int) -> dict[tuple[str, str, str, int], list[object]]:
    """One process's flush as the store receives it: every feature called with the 8
    durations (8 histogram buckets), under one version."""
    from django_tracekit.core.histogram import bucket_index

    hist: dict[int, int] = {}
    for ms in DURATIONS_MS:
        index = bucket_index(ms * 10**6)
        hist[index] = hist.get(index, 0) + 1
    total_ns = sum(DURATIONS_MS) * 10**6
    return {(f"GET /shop/view{i}/", "request", "web", minute):
            [len(DURATIONS_MS), 0, total_ns, max(DURATIONS_MS) * 10**6, dict(hist), 0, None,
             "2.0", 0, 0, 0] for i in range(features)}


def _writer(deadline: float, pause_s: float, out: Any) -> None:
    """A forked writer process standing for :data:`IDENTITIES` processes (each its own rows
    and memory, in turn): flushes 1,000 features until ``deadline`` (``pause_s`` between
    flushes), then reports (flushes, seconds writing, backend CPU s, own CPU s)."""
    import random

    from django.db import connections

    from django_tracekit.destinations.stats import store

    try:
        from django_tracekit.destinations.stats import own_rows
    except ImportError:  # a checkout before process rows (PYTHONPATH): shared rows
        own_rows = None
    connections.close_all()  # the parent's connection is not this process's
    identities = [(random.randrange(1, 2 ** 62), {}) for _ in range(IDENTITIES)]
    if own_rows is not None:
        own_rows.writer_id()  # this process's start (a fork resets the memory)
    flushes, busy = 0, 0.0
    cpu, own_cpu = backend_cpu_s(), time.process_time()
    while time.time() < deadline:
        if own_rows is not None:
            state = own_rows._state()
            state.writer, state.known = identities[flushes % len(identities)]
        batch = _batch(SIM_FEATURES, int(time.time()) // 60)
        began = time.perf_counter()
        store.write(batch)
        busy += time.perf_counter() - began
        flushes += 1
        if pause_s:
            time.sleep(pause_s)
    out.put((flushes, busy, backend_cpu_s() - cpu, time.process_time() - own_cpu))


def _run_writers(count: int, seconds: float, pause_s: float,
                 ) -> tuple[int, float, float, float]:
    import multiprocessing

    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    deadline = time.time() + seconds
    workers = [context.Process(target=_writer, args=(deadline, pause_s, out))
               for _ in range(count)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=seconds + 600) for _ in workers]
    for worker in workers:
        worker.join()
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            sum(r[2] for r in results), sum(r[3] for r in results))


def _merge_cost(first_minute: int) -> tuple[int, float, float, int]:
    """Merge every minute (and hour, before 0012) the writers wrote, as the flusher does
    once they are closed (since 0012 the merge adds each minute to its hour row too): (rows
    merged away, CPU s of the merging process + its backend, wall s, minutes merged)."""
    from django.db import connection

    try:
        from django_tracekit.destinations.stats import merging
    except ImportError:  # a checkout before process rows: nothing to merge
        return 0, 0.0, 0.0, 1
    last_minute = int(time.time()) // 60
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tracekit_stats")
    backend, own, wall = backend_cpu_s(), time.process_time(), time.perf_counter()
    merged = merging.merge("default", now=(last_minute + 1) * 60 + 3600 + merging.MERGE_AFTER)
    return (merged, backend_cpu_s() - backend + time.process_time() - own,
            time.perf_counter() - wall, last_minute - first_minute + 1)


def _updates() -> tuple[int, int]:
    """Rows of ``tracekit_stats`` updated so far, and how many of them were HOT updates
    (heap-only: no index written)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
                       "WHERE relname = 'tracekit_stats'")
        row = cursor.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def bench_simulation(label: str) -> None:
    """100 processes x 1,000 features flushing every 10 s need 10 flushes/s of 1,000
    features; the write capacity is measured in the same run: writers flushing
    back-to-back (each standing for 25 processes), until the machine is the limit; then
    the merge of what they wrote, counted in flushes of the same CPU cost."""
    first_minute = int(time.time()) // 60
    load_avg = os.getloadavg()[0]
    flushes, busy, cpu, own_cpu = _run_writers(CAPACITY_WRITERS, CAPACITY_SECONDS, 0.0)
    capacity = flushes / CAPACITY_SECONDS
    updated, hot = _updates()
    flush_cpu = (cpu + own_cpu) / max(flushes, 1)
    merged, merge_cpu, merge_wall, minutes = _merge_cost(first_minute)
    # The writers' 100 identities leave 100 rows per feature and minute, as 100 processes
    # do: per minute of load, one minute's merge (the hour's, merged here too, is once an
    # hour: counted as if every minute, the upper bound).
    merge_cpu_per_minute = merge_cpu / minutes
    merge_flushes = merge_cpu_per_minute / 60 / flush_cpu
    needed = SIM_PROCESSES / SIM_INTERVAL_S
    print(f"\n## {label}: {SIM_PROCESSES} processes x {SIM_FEATURES:,} features every "
          f"{SIM_INTERVAL_S:g} s against the write capacity measured in the same run")
    print("| | value |")
    print("|---|---:|")
    print(f"| capacity: 1,000-feature flushes/s, {CAPACITY_WRITERS} writers x {IDENTITIES} "
          f"processes back-to-back, {CAPACITY_SECONDS:g} s | {capacity:.2f} |")
    print(f"| mean flush s under that load | {busy / max(flushes, 1):.3f} |")
    print(f"| PostgreSQL backend CPU s per flush | {cpu / max(flushes, 1):.4f} |")
    print(f"| writer (client) CPU s per flush | {own_cpu / max(flushes, 1):.4f} |")
    print(f"| rows updated, of them HOT (no index written) | {updated:,}, "
          f"{hot / max(updated, 1):.0%} |")
    print(f"| merge of what they wrote: rows merged away, minutes, CPU s (client + backend), "
          f"wall s | {merged:,}, {minutes}, {merge_cpu:.2f}, {merge_wall:.2f} |")
    print(f"| merge per minute of load, in flushes/s of the same CPU | {merge_flushes:.2f} |")
    print(f"| needed: {SIM_PROCESSES} x 1 flush / {SIM_INTERVAL_S:g} s (+ merge) | "
          f"{needed:.2f} (+ {merge_flushes:.2f}) |")
    print(f"| **needed / capacity** (goal <= 25 %) | **{(needed + merge_flushes) / capacity:.1%}**"
          f" (flushes alone {needed / capacity:.1%}) |")
    print(f"| database CPU needed (backend CPU s per flush x needed flushes/s) | "
          f"{cpu / max(flushes, 1) * needed:.2f} cores |")
    print(f"| load average (1 min) at the start / end | {load_avg:.1f} / "
          f"{os.getloadavg()[0]:.1f} |")


def run_all(label: str) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    bench_writes(label)
    bench_growth(label)


def main() -> None:
    target = os.environ.get("TK_BENCH_DB", "sqlite")
    if target == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        # WAL, and a busy timeout long enough for 16 writers taking turns.
        configure({"ENGINE": "django.db.backends.sqlite3", "NAME": str(path),
                   "OPTIONS": {"timeout": 60, "init_command": "PRAGMA journal_mode=WAL;"}})
        run_all("SQLite")
        # PostgreSQL in its own process (settings are configured once per process).
        subprocess.run([sys.executable, __file__], env={**os.environ, "TK_BENCH_DB": "postgres"},
                       check=False)
        return
    with scratch_database(os.environ.get("TK_BENCH_DB_PREFIX", "tracekit_bench_scale")) as database:
        if database is not None:
            configure(database)
            if os.environ.get("TK_BENCH_ONLY") == "simulation":
                from django.core.management import call_command

                call_command("migrate", verbosity=0)
            else:
                run_all("PostgreSQL")
            bench_simulation("PostgreSQL")


if __name__ == "__main__":
    main()
