"""waterfall.build: the order, nesting and scale of the rows, parsed attributes and events,
stack references, and what corrupt rows do (no exception, nothing hidden)."""

from __future__ import annotations

import json

import pytest

from django_tracekit.pages.traces import waterfall
from django_tracekit.storage.trace_models import TraceSpan
from tests.support.traces import (
    SpanSpec,
    build,
    exception_event,
    span_id,
    trace_id,
    upload_trace,
)

T0 = 1_700_000_000_000_000


def rows(specs: list[SpanSpec]) -> waterfall.Waterfall:
    trace, spans = build(trace_id(1), specs, start_us=T0)
    return waterfall.build(spans, trace.start_us, trace.end_us)


def test_depth_first_children_by_start_time() -> None:
    built = rows([
        SpanSpec("root", span_id(1), duration_ms=100),
        SpanSpec("late", span_id(2), span_id(1), start_ms=50, duration_ms=10),
        SpanSpec("early", span_id(3), span_id(1), start_ms=10, duration_ms=10),
        SpanSpec("early's child", span_id(4), span_id(3), start_ms=12, duration_ms=1),
    ])
    assert [(r.span.name, r.depth, r.parent_index, r.children) for r in built.rows] == [
        ("root", 0, None, 2), ("early", 1, 0, 1), ("early's child", 2, 1, 0),
        ("late", 1, 0, 0)]
    assert [(r.offset, r.width) for r in built.rows] == [
        (0.0, 100.0), (10.0, 10.0), (12.0, 1.0), (50.0, 10.0)]
    assert built.duration_us == 100_000
    assert [label for _p, label in built.ticks] == ["0", "25 ms", "50 ms", "75 ms", "100 ms"]


def test_bars_stay_inside_the_track() -> None:
    trace, spans = build(trace_id(1), [SpanSpec("a", span_id(1), duration_ms=10)], start_us=T0)
    odd = TraceSpan(span_id=span_id(2), name="b", kind="internal", service="w",
                    start_us=T0 + 9_000, duration_us=-5)  # a clock that went backwards
    built = waterfall.build([*spans, odd], trace.start_us, trace.end_us)
    for row in built.rows:
        assert 0 <= row.offset <= 100 and row.width >= 0 and row.offset + row.width <= 100
    empty = waterfall.build([], T0, T0)
    assert empty.rows == [] and empty.duration_us == 1


def test_orphans_and_cycles_are_top_level_and_marked() -> None:
    built = rows([
        SpanSpec("loop a", span_id(4), span_id(5), start_ms=1),
        SpanSpec("loop b", span_id(5), span_id(4), start_ms=2),
        SpanSpec("self", span_id(6), span_id(6), start_ms=3),
        SpanSpec("orphan", span_id(2), span_id(99), start_ms=0),
        SpanSpec("root", span_id(1), start_ms=0.5),
    ])
    assert [(r.span.name, r.depth, r.orphan) for r in built.rows] == [
        ("orphan", 0, True), ("root", 0, False), ("self", 0, True),
        ("loop a", 0, True), ("loop b", 1, False)]
    assert built.orphans == 3


def test_a_chain_ten_thousand_deep_needs_no_recursion() -> None:
    specs = [SpanSpec(f"s{n}", span_id(n), span_id(n - 1) if n else "", start_ms=n * 0.001)
             for n in range(10_000)]
    built = rows(specs)
    assert [r.depth for r in built.rows] == list(range(10_000))
    assert built.rows[-1].indent == waterfall.MAX_INDENT


def test_events_exceptions_n_plus_one_and_references() -> None:
    built = rows([
        SpanSpec("task", span_id(1), duration_ms=50, is_error=True,
                 attributes={"tracekit.error.span_id": span_id(2), "b": 2, "a": [1, "x"]}),
        SpanSpec("inner", span_id(2), span_id(1), start_ms=10, duration_ms=20, is_error=True,
                 events=[{"name": "tracekit.n_plus_one", "time_us": 15_000, "attributes": {
                     "db.query.text": "SELECT 1", "tracekit.n_plus_one.count": 9}},
                     exception_event("ValueError", "bad", "Traceback ...", 25_000)]),
        SpanSpec("other", span_id(3), span_id(1), start_ms=40, is_error=True,
                 attributes={"tracekit.error.span_id": span_id(77)},
                 events=[exception_event("KeyError", "k", "Traceback 2", 40_000)]),
    ])
    task, inner, other = built.rows
    assert task.attributes == [("a", '[1, "x"]'), ("b", "2"),
                               ("tracekit.error.span_id", span_id(2))]
    assert task.stack_ref == span_id(2) and task.stack_ref_found and not task.has_stack
    n_plus_one, exception = inner.events
    assert (n_plus_one.kind, n_plus_one.query, n_plus_one.count) == ("n_plus_one", "SELECT 1",
                                                                      "9")
    assert n_plus_one.offset_ms == 5.0 and n_plus_one.attributes == []
    assert (exception.kind, exception.exception_type, exception.exception_message,
            exception.stacktrace) == ("exception", "ValueError", "bad", "Traceback ...")
    assert exception.offset_ms == 15.0
    assert inner.has_stack and inner.open  # the first stack opens by itself
    assert other.has_stack and not other.open
    assert other.stack_ref == span_id(77) and not other.stack_ref_found
    assert built.errors == 3


def test_rows_that_do_not_parse_keep_their_text() -> None:
    trace, spans = build(trace_id(1), [SpanSpec("a", span_id(1))], start_us=T0)

    def row(attributes: str, events: str) -> waterfall.Row:
        spans[0].attributes, spans[0].events = attributes, events
        (only,) = waterfall.build(spans, trace.start_us, trace.end_us).rows
        return only

    for text in ("{oops", "[1, 2]", '"text"', "null"):
        assert row(text, "").raw_attributes == text and row(text, "").attributes == []
        assert row("", text).raw_events == text and row("", text).events == []
    text = json.dumps([1, "x", {"name": 5, "time_us": "soon", "attributes": [1]}])
    odd = row("{}", text)
    assert odd.raw_events == text and odd.raw_attributes == ""
    assert [(e.name, e.offset_ms, e.attributes) for e in odd.events] == [("5", 0.0, [])]


def test_service_colours_are_stable_and_distinct_within_a_trace() -> None:
    names = [f"service-{n}" for n in range(8)]
    classes = waterfall.service_classes(names)
    assert len(set(classes.values())) == 8
    assert waterfall.service_classes(["service-3"])["service-3"] == \
        waterfall.service_classes(["service-3", "x"])["service-3"]


def test_log_records_read_as_log_lines() -> None:
    built = rows([SpanSpec("a", span_id(1), duration_ms=5, events=[
        {"name": "log", "time_us": 1_000, "attributes": {
            "log.message": "paid", "log.severity": "WARNING", "log.severity_number": 13,
            "log.logger": "shop", "code.file.path": "/srv/shop/pay.py",
            "code.line.number": 7, "code.function.name": "charge", "order": 42}},
        {"name": "log", "time_us": 2_000, "attributes": {"log.message": "bare"}},
        {"name": "log", "time_us": 3_000, "attributes": {"not": "a log record"}}])])
    first, bare, other = built.rows[0].events
    assert (first.kind, first.severity, first.message, first.source, first.attributes) == (
        "log", "WARNING", "paid", "shop · pay.py:7 in charge", [("order", "42")])
    assert (bare.kind, bare.message, bare.source, bare.severity) == ("log", "bare", "", "")
    assert (other.kind, other.name) == ("event", "log")  # no message: a plain event


def test_identical_sibling_statements_fold_into_one_row() -> None:
    q = {"db.system.name": "postgresql", "db.query.text": "SELECT c FROM ch WHERE id = %s"}
    other = {**q, "db.query.text": "SELECT t FROM th WHERE id = %s"}
    built = rows([
        SpanSpec("view", span_id(1), duration_ms=100),
        *[SpanSpec("SELECT ch", span_id(10 + n), span_id(1), start_ms=2 + n * 4,
                   duration_ms=0.5, kind="client", attributes=q) for n in range(12)],
        # Interleaved with another statement run twice, and one that ran once.
        SpanSpec("SELECT th", span_id(30), span_id(1), start_ms=3, kind="client",
                 attributes=other),
        SpanSpec("SELECT th", span_id(31), span_id(1), start_ms=7, kind="client",
                 attributes=other, is_error=True),
        SpanSpec("SELECT once", span_id(32), span_id(1), start_ms=60, kind="client",
                 attributes={**q, "db.query.text": "SELECT 1"}),
        # Same text, but not a leaf (a span below it): never folded.
        SpanSpec("SELECT ch", span_id(33), span_id(1), start_ms=70, kind="client",
                 attributes=q),
        SpanSpec("inside", span_id(34), span_id(33), start_ms=71),
    ])
    shown = [(r.span.span_id, r.depth, r.fold is not None, r.in_fold) for r in built.rows]
    assert shown[:2] == [(span_id(1), 0, False, False), (f"{span_id(10)}-x12", 1, True, False)]
    assert shown[2:14] == [(span_id(10 + n), 2, False, True) for n in range(12)]
    assert shown[14:] == [(f"{span_id(30)}-x2", 1, True, False), (span_id(30), 2, False, True),
                          (span_id(31), 2, False, True), (span_id(32), 1, False, False),
                          (span_id(33), 1, False, False), (span_id(34), 2, False, False)]
    fold = built.rows[1]
    assert fold.fold is not None and fold.fold.query == q["db.query.text"]
    assert fold.duration_text == "6 ms" and len(fold.fold_bars) == 12  # 12 x 0.5 ms
    assert (fold.offset, fold.width) == (2.0, 44.5)  # first start .. last end
    assert built.rows[0].children == 4  # two folds, two spans
    assert built.rows[14].span.is_error and built.rows[14].errors_below == 1
    # The header's SQL: every statement, folded or not.
    assert built.sql_count == 16 and built.sql_us == 12 * 500 + 4 * 1000


def test_an_error_through_five_spans_is_one_incident() -> None:
    ref = {"tracekit.error.span_id": span_id(5)}
    specs = [SpanSpec(f"s{n}", span_id(n), span_id(n - 1) if n > 1 else "", start_ms=n,
                      duration_ms=50 - n, is_error=True,
                      kind="server" if n == 1 else "internal",
                      attributes={} if n == 5 else ref,
                      events=[exception_event("E", "m", "Traceback", 0)] if n == 5 else [])
             for n in range(1, 6)]
    built = rows(specs)
    assert (built.outcome.incidents, built.outcome.carriers, built.errors) == (1, 4, 5)
    assert built.outcome.entry_failed and built.outcome.label == "failed"
    assert [r.carries_name for r in built.rows] == ["s5", "s5", "s5", "s5", ""]
    assert [r.errors_below for r in built.rows] == [4, 3, 2, 1, 0]
    # A second error elsewhere, caught (the root answered): two incidents, handled.
    handled = rows([SpanSpec("GET /", span_id(1), duration_ms=10, kind="server"),
                    SpanSpec("call", span_id(2), span_id(1), is_error=True, kind="client"),
                    SpanSpec("call", span_id(3), span_id(1), 2, is_error=True, kind="client")])
    assert (handled.outcome.key, handled.outcome.incidents) == ("handled", 2)
    assert handled.outcome.label == "handled error"


@pytest.mark.django_db
def test_retries_queue_wait_and_outcome_of_a_celery_task() -> None:
    failed = upload_trace(trace_id(2), start_us=T0)
    recovered = upload_trace(trace_id(3), start_us=T0, recovered=True)

    def built(t: object) -> waterfall.Waterfall:
        found = list(TraceSpan.objects.filter(trace=t).values_list(*waterfall.FIELDS,
                                                                   named=True))
        return waterfall.build(found, T0, T0)

    one, two = built(failed), built(recovered)
    assert (one.outcome.key, one.outcome.label) == ("failed", "failed after 1 retry")
    assert (two.outcome.key, two.outcome.label) == ("recovered", "recovered after 1 retry")
    assert one.outcome.n_plus_one == 12 and one.n_plus_one_spans == 1
    by_id = {r.span.span_id: r for r in one.rows}
    first, second = by_id[span_id(40)], by_id[span_id(42)]
    assert first.retry_reason.startswith("Retry in 1s") and first.attempt == 0
    assert second.attempt == 1 and not second.retry_reason
    assert first.wait_us == 60_000 and second.wait_us == 1_007_000  # publish end .. run
    assert first.wait_x == round(64 / 1460 * 100, 3)
    # The second run lasts to the end: its duration sits before its wait (at 10.5 %: no
    # room there), so inside its bar.
    assert second.label_at == ("100.000%", "inside")



def test_the_duration_sits_beside_the_bar() -> None:
    built = rows([SpanSpec("root", span_id(1), duration_ms=100),
                  SpanSpec("early", span_id(2), span_id(1), 0, 10),
                  SpanSpec("late", span_id(3), span_id(1), 90, 10)])
    assert [r.label_at for r in built.rows] == [
        ("100.000%", "inside"), ("10.000%", "start"), ("90.000%", "end")]
