"""The ``slow`` rule with two real processes writing at once to one database (an SQLite file,
PostgreSQL): lognormal latencies split between them; after the window ended, the traces
labelled slow are the true 3 slowest over both (test_slow.py has the rule's other cases)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.support.race import fresh_database_fixture, race, race_settings

N, SEED = 1_200, 23

WRITER = """
import os, random, time
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from django_tracekit.destinations.stats import store as stats_store
from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.core.tracer import INSTRUMENTATION_NAME
from django_tracekit.destinations.traces import keep, store
from django_tracekit.destinations.traces.processor import TraceStoreProcessor

who = int(os.environ["TK_WHO"])
w0 = 2_941_000 * keep.WINDOW_NS
traces = TraceStoreProcessor(store.database, start_thread=False, sample_rate=0.0)
traces.wall_clock_ns = lambda: w0 + 300 * 10**9
stats = StatsProcessor(stats_store.write, start_thread=False)
provider = TracerProvider(resource=Resource.create({"service.name": f"web-{who}"}))
provider.add_span_processor(stats)
provider.add_span_processor(traces)
tracer = provider.get_tracer(INSTRUMENTATION_NAME)
rng = random.Random(SEED)
durations = [int(rng.lognormvariate(3.0, 0.6) * 1e6) for _ in range(N)]
step = (keep.WINDOW_NS - 1) // N
wait_for_start()
for i in range(who, N, 2):
    root = tracer.start_span("GET /lognorm/", kind=SpanKind.SERVER, start_time=w0 + i * step,
                             attributes={"http.route": "/lognorm/",
                                         "http.request.method": "GET"})
    root.end(end_time=w0 + i * step + durations[i])
    if i % 100 < 2:
        assert traces.flush() and stats.flush()
assert stats.flush()
traces.wall_clock_ns = lambda: w0 + keep.WINDOW_NS + 1  # the window has ended
assert traces.flush()
print("done")
"""

SUMMARY = """
import json
from django_tracekit.storage.trace_models import Trace, TraceSpan
slow = Trace.objects.filter(reasons__contains="slow").values_list("id", flat=True)
print(json.dumps({
    "slow": sorted(TraceSpan.objects.filter(trace_id__in=list(slow), name="GET /lognorm/")
                   .values_list("duration_us", flat=True)),
    "traces": Trace.objects.count()}))
"""


def _race(vendor: str, name: str) -> None:
    result = race(race_settings(vendor, name), f"N = {N}\nSEED = {SEED}\n" + WRITER,
                  [{"TK_WHO": str(who)} for who in (0, 1)], SUMMARY, timeout=240)
    rng = random.Random(SEED)
    truth = sorted(int(rng.lognormvariate(3.0, 0.6) * 1e6) // 1_000 for _ in range(N))[-3:]
    assert result == {"slow": truth, "traces": 3}


def test_sqlite_file_two_processes_keep_the_true_slowest(tmp_path: Path) -> None:
    _race("sqlite", str(tmp_path / "slow.sqlite3"))


postgres_db = fresh_database_fixture("postgres", "tracekit_slow")


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_postgres_two_processes_keep_the_true_slowest(postgres_db: str) -> None:
    _race("postgres", postgres_db)
