"""The stats write path as the database sees it: rows per feature per flush (counted by
PostgreSQL's own ``pg_stat_user_tables``: tuples inserted + updated + deleted in tracekit's
tables) and the time of a 1,000-feature flush from one process, on PostgreSQL.

Each feature's calls spread over 8 latency buckets (1-34 ms); every flush is in the same
minute and hour as the one before (the steady state: the rows exist), after a first flush
that creates them. Besides the wall time (the machine is shared: it waits for a CPU), the
CPU time of the flush in this process and in its PostgreSQL backend: their sum is what the
flush takes on an idle machine (the two take turns). Run:
.venv/bin/python benchmarks/bench_write_path.py (needs 127.0.0.1:5432). To compare two
checkouts in one run, run it once with each on PYTHONPATH.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import django
from _postgres import backend_cpu_s, scratch_database
from django.conf import settings

DURATIONS_MS = (1, 2, 3, 5, 8, 13, 21, 34)
FEATURES = 1_000
FLUSHES = 11


def _tuples() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM "
                       "pg_stat_user_tables WHERE relname LIKE 'tracekit%%'")
        return int(cursor.fetchone()[0])


def main() -> None:
    with scratch_database(os.environ.get("TK_BENCH_DB_PREFIX", "tracekit_bench_write")) as database:
        if database is None:
            print("PostgreSQL not reachable: skipped")
            return
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                            "django_tracekit"],
            DATABASES={"default": database}, USE_TZ=True, SECRET_KEY="bench",
            TRACEKIT={"ENABLED": False}, LOGGING_CONFIG=None)
        django.setup()
        from django.core.management import call_command
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.trace import SpanKind

        import django_tracekit
        from django_tracekit.destinations.stats import store
        from django_tracekit.destinations.stats.processor import StatsProcessor

        call_command("migrate", verbosity=0)
        processor = StatsProcessor(store.write, start_thread=False)
        provider = TracerProvider(resource=Resource({"service.name": "shop-web",
                                                     "service.version": "2.0"}))
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("django_tracekit")
        names = [f"GET /shop/view{i}/" for i in range(FEATURES)]
        # Mid-minute of the current minute, at most 10 s a flush: all in one minute.
        now = time.time_ns()
        minute = now - now % (60 * 10**9)

        def feed(flush: int) -> None:
            end = minute + (5 + flush) * 10**9
            for duration in DURATIONS_MS:
                for name in names:
                    tracer.start_span(name, kind=SpanKind.SERVER,
                                      start_time=end - duration * 10**6).end(end_time=end)

        feed(0)
        before = _tuples()
        started = time.perf_counter()
        assert processor.flush()
        first_s = time.perf_counter() - started
        first_rows = _tuples() - before
        seconds, rows, own_cpu, db_cpu = [], [], [], []
        for flush in range(1, FLUSHES):
            feed(flush)
            before = _tuples()
            backend, own = backend_cpu_s(), time.process_time()
            started = time.perf_counter()
            assert processor.flush()
            seconds.append(time.perf_counter() - started)
            own_cpu.append(time.process_time() - own)
            db_cpu.append(backend_cpu_s() - backend)
            rows.append(_tuples() - before)
        print(f"### {Path(django_tracekit.__file__).parents[1]}")
        print(f"load average {os.getloadavg()[0]:.1f}")
        print("| flush | rows per feature (pg_stat_user_tables) | flush s (wall) | "
              "CPU s: process + backend |")
        print("|---|---:|---:|---:|")
        print(f"| first (rows created) | {first_rows / FEATURES:.2f} | {first_s:.3f} | |")
        print(f"| steady state (median of {len(rows)}) | "
              f"{statistics.median(rows) / FEATURES:.2f} | {statistics.median(seconds):.3f} | "
              f"{statistics.median(own_cpu):.3f} + {statistics.median(db_cpu):.3f} |")


if __name__ == "__main__":
    main()
