"""The trace store: its added cost per finished span (on top of the stats processor, the
default configuration's other local destination), the write cost, rows and bytes per kept
trace, and the store's size under a flood of errors (MAX_TRACES holds it).

Run: .venv/bin/python benchmarks/bench_trace_store.py  (PostgreSQL part needs 127.0.0.1:5432).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import django
from _postgres import scratch_database
from _timing import interleaved, print_table
from django.conf import settings

SPANS_PER_TRACE = 20
TRACES = 200


def configure(database: dict[str, Any]) -> None:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"],
        DATABASES={"default": database}, USE_TZ=True, SECRET_KEY="bench",
        TRACEKIT={"ENABLED": False}, LOGGING_CONFIG=None)
    django.setup()


def _stack() -> str:
    def inner(depth: int) -> str:
        if depth:
            return inner(depth - 1)
        try:
            raise ValueError("order 42 cannot be charged")
        except ValueError:
            return "".join(traceback.format_exc())
    return inner(25)  # a realistic stack: ~30 frames, ~3 KB


def bench_on_end() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.trace import SpanKind

    from django_tracekit.core.tracer import INSTRUMENTATION_NAME
    from django_tracekit.destinations.stats.processor import StatsProcessor
    from django_tracekit.destinations.traces.memory import MemoryTraces
    from django_tracekit.destinations.traces.processor import TraceStoreProcessor

    stats = StatsProcessor(lambda inc, err: 0, start_thread=False)
    store = TraceStoreProcessor(MemoryTraces(), start_thread=False, sample_rate=0.01)
    provider = TracerProvider()
    tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    db = provider.get_tracer("django_tracekit.sources.db")
    root = tracer.start_span("GET /orders/<int:pk>/", kind=SpanKind.SERVER,
                             attributes={"http.route": "/orders/<int:pk>/",
                                         "http.request.method": "GET", "url.path": "/orders/7/"})
    child = tracer.start_span("shop/orders/views/detail", trace.set_span_in_context(root),
                              attributes={"code.function.name": "shop.views.detail",
                                          "code.file.path": "/srv/shop/views.py",
                                          "code.line.number": 12})
    sql = db.start_span("SELECT shop_order", trace.set_span_in_context(child),
                        kind=SpanKind.CLIENT,
                        attributes={"db.system.name": "postgresql",
                                    "db.query.text": "SELECT id, total FROM shop_order "
                                                     "WHERE id = ?"})
    for span in (sql, child, root):
        span.end()
    ended_child, ended_sql, ended_root = (cast(ReadableSpan, s) for s in (child, sql, root))
    # The same root ends again and again: the buffer's decision runs each time (the root
    # closes its part, which is then forgotten: not kept, nothing can join it).
    results = interleaved({
        "stats on_end (function span)": lambda: stats.on_end(ended_child),
        "trace store on_end (function span)": lambda: store.on_end(ended_child),
        "trace store on_end (SQL span)": lambda: store.on_end(ended_sql),
        "trace store on_end (request root: keep decision)": lambda: store.on_end(ended_root),
    }, number=50_000)
    print_table("Cost per finished span: the trace store's on_end vs the stats processor's",
                results, "stats on_end (function span)", unit="µs",
                note="Hot path only (no I/O, no JSON): buffering, the size estimate, and at "
                     "a local root the keep decision.")

    # A whole request as the SDK runs it (start + end of 20 spans, every processor called),
    # the default configuration's local destinations with and without the trace store.
    def provider_with(*processors: Any) -> Any:
        provider = TracerProvider()
        for processor in processors:
            provider.add_span_processor(processor)
        return provider

    stats_only = provider_with(StatsProcessor(lambda inc, err: 0, start_thread=False))
    with_store = provider_with(StatsProcessor(lambda inc, err: 0, start_thread=False),
                               TraceStoreProcessor(MemoryTraces(), start_thread=False))
    # The SDK's own cost of one more processor (its calls to on_start/on_end), apart.
    with_nothing = provider_with(StatsProcessor(lambda inc, err: 0, start_thread=False),
                                 SpanProcessor())

    def request(provider: Any) -> None:
        tracer = provider.get_tracer(INSTRUMENTATION_NAME)
        sql_tracer = provider.get_tracer("django_tracekit.sources.db")
        with tracer.start_as_current_span("GET /orders/<int:pk>/", kind=SpanKind.SERVER), \
                tracer.start_as_current_span("shop/orders/views/detail"):
            for _ in range(SPANS_PER_TRACE - 2):
                with sql_tracer.start_as_current_span(
                        "SELECT shop_order", kind=SpanKind.CLIENT,
                        attributes={"db.system.name": "postgresql",
                                    "db.query.text": "SELECT id FROM shop_order WHERE id = ?"}):
                    pass

    results = interleaved({
        "stats only": lambda: request(stats_only),
        "stats + a processor doing nothing": lambda: request(with_nothing),
        "stats + trace store": lambda: request(with_store),
    }, number=2_000)
    print_table(f"A request of {SPANS_PER_TRACE} spans (start + end, all processors)", results,
                "stats only", unit="µs")
    added = (results["stats + trace store"] - results["stats only"]) / SPANS_PER_TRACE
    own = (results["stats + trace store"] - results["stats + a processor doing nothing"]
           ) / SPANS_PER_TRACE
    print(f"added by the trace store: {added * 1e6:.2f} µs per span, of which the SDK's "
          f"dispatch to one more processor is {(added - own) * 1e6:.2f} µs")


def _kept_traces(n: int, error: bool = True) -> list[Any]:
    """``n`` finished traces of SPANS_PER_TRACE spans (request, view, SQL, a log event and,
    with ``error``, the exception with its stack), as the SDK hands them over."""
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from django_tracekit.core.tracer import INSTRUMENTATION_NAME

    spans: list[Any] = []

    class Collect(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            spans.append(span)

    provider = TracerProvider()
    provider.add_span_processor(Collect())
    tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    stack = _stack()
    for _ in range(n):
        request: dict[str, str | int] = {
            "http.route": "/orders/<int:pk>/", "url.path": "/orders/7/",
            "http.response.status_code": 500, "enduser.id": "1234"}
        with tracer.start_as_current_span("GET /orders/<int:pk>/", kind=SpanKind.SERVER,
                                          attributes=request), \
                tracer.start_as_current_span("shop/orders/views/detail") as view:
            view.add_event("log", {"log.message": "charging order 7", "log.severity": "INFO"})
            for i in range(SPANS_PER_TRACE - 3):
                with tracer.start_as_current_span(
                        "SELECT shop_order", kind=SpanKind.CLIENT,
                        attributes={"db.system.name": "postgresql",
                                    "db.query.text": f"SELECT id, total FROM shop_order "
                                                     f"WHERE customer_id = ? -- {i}"}):
                    pass
            with tracer.start_as_current_span("shop/orders/services/charge") as charge:
                if error:
                    charge.add_event("exception", {"exception.type": "ValueError",
                                                   "exception.message": "cannot charge",
                                                   "exception.stacktrace": stack})
                    charge.set_status(Status(StatusCode.ERROR, "ValueError"))
    return spans


def _size_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE tracekit_trace")
            cursor.execute("VACUUM ANALYZE tracekit_trace_span")
            cursor.execute("SELECT pg_total_relation_size('tracekit_trace') + "
                           "pg_total_relation_size('tracekit_trace_span')")
            return int(cursor.fetchone()[0])
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA page_count")
        pages = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA page_size")
        return pages * int(cursor.fetchone()[0])


def bench_writes(label: str) -> None:
    from django_tracekit.destinations.traces.processor import TraceStoreProcessor
    from django_tracekit.destinations.traces.store import database
    from django_tracekit.storage.trace_models import Trace, TraceSpan

    spans = _kept_traces(TRACES)
    processor = TraceStoreProcessor(database, start_thread=False, sample_rate=0.0,
                                    max_traces=1_000_000, max_buffered_traces=10_000,
                                    max_backlog_traces=10_000)
    empty = _size_bytes()
    for span in spans:
        processor.on_end(span)
    start = time.perf_counter()
    cpu = time.process_time()
    assert processor.flush()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    traces, rows = Trace.objects.count(), TraceSpan.objects.count()
    size = _size_bytes() - empty
    print(f"\n## Writing kept traces, {label}: {TRACES} error traces of {SPANS_PER_TRACE} "
          f"spans (a ~3 KB stack, a log event, SQL) in one flush")
    print("| per kept trace | value |")
    print("|---|---:|")
    print(f"| flush wall time (convert + write) | {wall / traces * 1000:.2f} ms |")
    print(f"| flush CPU in this process | {cpu / traces * 1000:.2f} ms |")
    print(f"| rows | {(traces + rows) / traces:.0f} (1 trace + {rows / traces:.0f} spans) |")
    print(f"| bytes on disk (tables + indexes) | {size / traces / 1024:.1f} KiB |")
    Trace.objects.all().delete()


def bench_flood(label: str, cap: int = 1_000, flood: int = 5_000) -> None:
    """A flood of error traces (every one kept): MAX_TRACES holds the store, trimmed by the
    flusher in batches."""
    from django_tracekit.destinations.traces.processor import TraceStoreProcessor
    from django_tracekit.destinations.traces.store import database
    from django_tracekit.storage.trace_models import Trace, TraceSpan

    processor = TraceStoreProcessor(database, start_thread=False, sample_rate=0.0,
                                    max_traces=cap)
    empty = _size_bytes()
    batch = _kept_traces(250)
    peak = 0
    for _ in range(flood // 250):
        for span in batch:  # the same spans again: new trace ids each time below
            processor.on_end(span)
        processor.flush()
        peak = max(peak, Trace.objects.count())
        batch = _kept_traces(250)
    for _ in range(10):  # the flusher's next flushes (nothing new: trimming only)
        processor.flush()
    traces = Trace.objects.count()
    print(f"\n## A flood of {flood:,} error traces, MAX_TRACES {cap:,}, {label}")
    print(f"traces kept: {traces:,} (peak {peak:,} between flushes; the flusher deletes at "
          f"most 2 x 500 per flush), span rows: {TraceSpan.objects.count():,}, "
          f"size {(_size_bytes() - empty) / 1024 / 1024:.1f} MiB "
          f"({(_size_bytes() - empty) / max(traces, 1) / 1024:.1f} KiB per kept trace)")


def main() -> None:
    target = os.environ.get("TK_BENCH_DB", "sqlite")
    if target == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        configure({"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)})
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        bench_on_end()
        bench_writes("SQLite")
        bench_flood("SQLite")
        import subprocess

        subprocess.run([sys.executable, __file__], env={**os.environ, "TK_BENCH_DB": "postgres"},
                       check=False)
    else:
        with scratch_database("tracekit_bench_traces") as database:
            if database is not None:
                configure(database)
                from django.core.management import call_command

                call_command("migrate", verbosity=0)
                bench_writes("PostgreSQL")
                bench_flood("PostgreSQL")


if __name__ == "__main__":
    main()
