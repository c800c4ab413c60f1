"""The database writer on SQLite (this process's test database): rows as the explorer
reads them, parts of one trace merged into one row, duplicates ignored, caps, poison
isolated, tables missing. Several processes at once: test_store_concurrency.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from django_tracekit.destinations.traces import store
from django_tracekit.destinations.traces.records import Part, SpanRow
from django_tracekit.storage.trace_models import Trace, TraceSpan
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.django_db

T0 = 1_764_000_000_000_000  # µs


def span(n: int, parent: int | None = None, *, service: str = "web", start: int = 0,
         duration: int = 1_000, error: bool = False, name: str | None = None,
         kind: str = "internal", attributes: str = "", events: str = "") -> SpanRow:
    return SpanRow(f"{n:016x}", f"{parent:016x}" if parent is not None else "",
                   name or f"step{n}", kind, service, T0 + start, duration, error,
                   "boom" if error else "", attributes, events)


def tid(n: int) -> str:
    return f"{n:032x}"


@pytest.fixture(autouse=True)
def _tables() -> None:
    store.clear_cache()


def test_a_part_becomes_a_trace_row_and_its_spans() -> None:
    part = Part(tid(1), "sample", [span(1, name="GET /o/", kind="server", duration=9_000),
                                   span(2, 1, start=1_000, error=True)],
                root_name="GET /o/", local_root_name="GET /o/", user_id="7")
    assert store.write([part]) == 2
    trace = Trace.objects.get(trace_id=tid(1))
    assert (trace.root_name, trace.services, trace.span_count, trace.error_count,
            trace.reasons, trace.user_id) == ("GET /o/", "web", 2, 1, "sample", "7")
    assert (trace.start_us, trace.end_us) == (T0, T0 + 9_000)
    child = trace.spans.get(span_id=f"{2:016x}")
    assert child.parent_span_id == f"{1:016x}" and child.is_error
    assert child.status_message == "boom"


def test_parts_of_one_trace_merge_into_one_row_whatever_the_order() -> None:
    # The worker's part (kept: error) arrives first, then the web part joins it.
    worker = Part(tid(2), "error", [span(10, 3, service="worker", start=50_000, duration=70_000,
                                         error=True, name="shop/tasks/charge", kind="consumer")],
                  local_root_name="shop/tasks/charge")
    store.write([worker])
    assert Trace.objects.get(trace_id=tid(2)).root_name == "shop/tasks/charge"
    web = Part(tid(2), "", [span(1, name="GET /o/", kind="server", duration=20_000),
                            span(3, 1, start=5_000, kind="producer")],
               root_name="GET /o/", local_root_name="GET /o/", user_id="9")
    store.write([web])
    trace = Trace.objects.get(trace_id=tid(2))
    assert (trace.root_name, trace.services, trace.span_count, trace.error_count,
            trace.reasons, trace.user_id) == ("GET /o/", "web,worker", 3, 1, "error", "9")
    assert (trace.start_us, trace.end_us) == (T0, T0 + 120_000)
    # A part keeping the same trace for another reason adds it.
    store.write([Part(tid(2), "sample", [span(11, 10, service="worker", start=60_000)])])
    trace.refresh_from_db()
    assert trace.reasons == "error,sample" and trace.span_count == 4


def test_a_span_written_twice_is_stored_once() -> None:
    part = Part(tid(3), "error", [span(1, error=True), span(2, 1)])
    store.write([part])
    store.write([part, Part(tid(3), "error", [span(2, 1)])])
    trace = Trace.objects.get(trace_id=tid(3))
    assert trace.span_count == 2 == trace.spans.count() and trace.error_count == 1


def test_a_part_joining_a_trace_that_is_gone_is_dropped() -> None:
    store.write([Part(tid(4), "", [span(1)])])
    assert not Trace.objects.filter(trace_id=tid(4)).exists()
    assert store.kept([tid(4), tid(5)]) == set()
    store.write([Part(tid(5), "slow", [span(1)])])
    assert store.kept([tid(4), tid(5)]) == {tid(5)}


def test_max_spans_per_trace_holds_across_parts() -> None:
    store.write([Part(tid(6), "error", [span(i) for i in range(1, 5)])], max_spans_per_trace=6)
    store.write([Part(tid(6), "", [span(i) for i in range(10, 15)], dropped=2)],
                max_spans_per_trace=6)
    trace = Trace.objects.get(trace_id=tid(6))
    assert trace.span_count == 6 == trace.spans.count()
    assert trace.dropped_spans == 3 + 2


def test_trim_deletes_the_oldest_beyond_the_cap_in_batches() -> None:
    store.write([Part(tid(100 + i), "sample", [span(1, start=i * 1_000_000)])
                 for i in range(30)])
    assert store.trim(20, batch=4) == 4  # one batch at a time: never a long delete
    while store.trim(20, batch=4):
        pass
    kept = sorted(Trace.objects.values_list("trace_id", flat=True))
    assert kept == [tid(100 + i) for i in range(10, 30)]
    assert TraceSpan.objects.count() == 20


def test_prune_deletes_what_is_older_than_the_retention() -> None:
    now = int(time.time() * 1e6)
    store.write([Part(tid(200), "error", [SpanRow(f"{1:016x}", "", "old", "server", "web",
                                                  now - 5 * 3600 * 10**6, 1, True, "", "", "")]),
                 Part(tid(201), "error", [SpanRow(f"{1:016x}", "", "new", "server", "web",
                                                  now - 60 * 10**6, 1, True, "", "", "")])])
    assert store.prune(retention_hours=4, max_traces=100, dry_run=True) == (1, 0)
    assert store.prune(retention_hours=4, max_traces=100) == (1, 0)
    assert list(Trace.objects.values_list("trace_id", flat=True)) == [tid(201)]


def test_poison_is_cleaned_or_dropped_alone() -> None:
    bad = [span(1, name="nul\x00name"), span(2, 1, name="lone\ud800surrogate"),
           span(3, 1, start=2 ** 63)]  # no 64-bit column holds this start: dropped alone
    good = Part(tid(8), "error", [span(1, error=True)])
    store.write([Part(tid(7), "error", bad, root_name="root\x00"), good])
    assert Trace.objects.get(trace_id=tid(8)).span_count == 1
    trace = Trace.objects.get(trace_id=tid(7))
    assert sorted(trace.spans.values_list("name", flat=True)) == ["lone\ufffdsurrogate",
                                                                  "nulname"]
    assert trace.root_name == "root"
    assert store.rejected["spans"] >= 1


def test_attributes_and_events_are_stored_as_json() -> None:
    attributes = json.dumps({"http.route": "/o/"})
    events = json.dumps([{"name": "exception", "time_us": T0,
                          "attributes": {"exception.stacktrace": "Traceback ..."}}])
    store.write([Part(tid(9), "error", [span(1, attributes=attributes, events=events)])])
    row = TraceSpan.objects.get(trace__trace_id=tid(9))
    assert json.loads(row.attributes) == {"http.route": "/o/"}
    assert json.loads(row.events)[0]["attributes"]["exception.stacktrace"] == "Traceback ..."


FRESH = """
import os
from django.core.management import call_command
from django_tracekit.destinations.traces import store
from django_tracekit.storage.trace_models import Trace
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.destinations.traces.records import Part, SpanRow
from tests.support.scripts import check, run_django
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

processor = TraceStoreProcessor(start_thread=False, sample_rate=0.0)
provider = TracerProvider()
provider.add_span_processor(processor)
with provider.get_tracer("django_tracekit").start_as_current_span(
        "GET /o/", kind=SpanKind.SERVER) as root:
    root.set_status(Status(StatusCode.ERROR))
print("flush before migrate:", processor.flush(), processor.flush())
print("file created:", os.path.exists(os.environ["TK_DB"]))
call_command("migrate", verbosity=0)
print("flush after migrate:", processor.flush())
print("traces:", Trace.objects.count())
"""


def test_a_fresh_database_waits_quietly_then_gets_the_kept_traces(tmp_path: Path) -> None:
    """Before ``migrate``: no error, no SQLite file created, the kept trace held; after:
    written at the next flush."""
    path = tmp_path / "db.sqlite3"
    result = check(run_django(FRESH, {"DATABASES": {"default": {
        "ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}}},
        env={"TK_DB": str(path)}))
    assert result.stdout.splitlines() == [
        "flush before migrate: True True", "file created: False",
        "flush after migrate: True", "traces: 1"]
    assert "Traceback" not in result.stderr and "WARNING" not in result.stderr
    assert result.stderr.count("the trace store waits") == 1


def test_tracekit_status_shows_the_rules_caps_and_what_is_stored() -> None:
    import io

    from django.core.management import call_command

    store.write([Part(tid(11), "error", [span(1, error=True), span(2, 1)])])
    out = io.StringIO()
    call_command("tracekit_status", "--store", stdout=out)
    text = out.getvalue()
    assert "trace store:   keeps every error trace" in text
    assert "at most 20,000 traces, 72 h" in text
    assert "stored: 1 traces (1 failed, 0 with a handled error only), 2 spans" in text


def test_a_flood_of_errors_stays_within_max_traces() -> None:
    """The flusher writes every error trace and trims the oldest beyond MAX_TRACES after
    each write, in batches: the table never holds more than the cap after a flush."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import SpanKind, Status, StatusCode

    from django_tracekit.destinations.traces.processor import TraceStoreProcessor

    processor = TraceStoreProcessor(store.database, start_thread=False, sample_rate=0.0,
                                    max_traces=5)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("django_tracekit")
    newest: list[str] = []
    for _ in range(4):
        for _ in range(6):
            with tracer.start_as_current_span("GET /fail/", kind=SpanKind.SERVER) as root:
                with tracer.start_as_current_span("shop/views/fail"):
                    pass
                root.set_status(Status(StatusCode.ERROR))
            newest.append(format(root.get_span_context().trace_id, "032x"))
        assert processor.flush()
        assert Trace.objects.count() == 5
    assert TraceSpan.objects.count() == 10
    assert set(Trace.objects.values_list("trace_id", flat=True)) == set(newest[-5:])


EXIT = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
import django_tracekit as tracekit
from django_tracekit import bootstrap
state = bootstrap.state()
print("local:", [type(p).__name__ for p in state.local])
with tracekit.span("shop/jobs/nightly") as span:
    tracekit.record_error(RuntimeError("disk full"))
print(format(span.get_span_context().trace_id, "032x"))
# No flush: the exit writes the local destinations first. (The store's module is imported
# here, not at exit: on a loaded machine importing it could take the exit's whole second.)
import django_tracekit.destinations.traces.store
"""


def test_the_integration_writes_kept_traces_at_exit(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "db.sqlite3"
    result = check(run_django(EXIT, {
        "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}},
        "TRACEKIT": {"TRACES": {"ENABLED": True, "SAMPLE_RATE": 0.0}, "SAMPLE_RATE": 0.0,
                     "STATS": {"ENABLED": False}}}))  # the exit's second for the traces
    local, trace_id = result.stdout.splitlines()[-2:]
    assert "TraceStoreProcessor" in local
    with sqlite3.connect(path) as db:
        rows = list(db.execute("SELECT reasons, error_count, root_name FROM tracekit_trace "
                               "WHERE trace_id = ?", (trace_id,)))
        events = [e for (e,) in db.execute("SELECT events FROM tracekit_trace_span")]
    assert rows == [("error,slow", 1, "shop/jobs/nightly")]  # its feature's first: slow too
    assert any("disk full" in e and "RuntimeError" in e for e in events)
