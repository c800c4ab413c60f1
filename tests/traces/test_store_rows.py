"""Spans as the store writes them (django_tracekit/destinations/traces/rows.py): secrets redacted
by the
one rule, texts cleaned, sizes capped, the stack kept, JSON the explorer reads."""

from __future__ import annotations

import json
import math
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from django_tracekit.core.errors import ERROR_SPAN_ID, INCIDENT
from django_tracekit.core.redaction import REDACTED
from django_tracekit.destinations.traces import rows
from django_tracekit.pages.traces import outcome


def _ended(build: object) -> list[ReadableSpan]:
    ended: list[ReadableSpan] = []

    class Collect(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            ended.append(span)

    provider = TracerProvider(resource=Resource.create({"service.name": "shop-web"}))
    provider.add_span_processor(Collect())
    build(provider.get_tracer("django_tracekit"))  # type: ignore[operator]
    return ended


def test_a_span_row_has_ids_times_kind_service_status_and_json() -> None:
    def build(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("GET /o/", kind=SpanKind.SERVER), \
                tracer.start_as_current_span("shop/views/o", attributes={"n": 3}) as child:
            child.add_event("log", {"log.message": "hello"}, timestamp=1_700_000_000_123_456_789)
            child.set_status(Status(StatusCode.ERROR, "ValueError: no"))

    child, root = _ended(build)
    row, root_row = (rows.span_row(span, rows.service_of(span)) for span in (child, root))
    assert root_row.parent_span_id == "" and root_row.kind == "server"
    assert row.parent_span_id == root_row.span_id and len(row.span_id) == 16
    assert row.kind == "internal" and row.service == "shop-web"
    assert row.is_error and row.status_message == "ValueError: no"
    assert row.start_us == child.start_time // 1000  # type: ignore[operator]
    assert row.duration_us == (child.end_time - child.start_time) // 1000  # type: ignore[operator]
    assert json.loads(row.attributes) == {"n": 3}
    assert json.loads(row.events) == [{"name": "log", "time_us": 1_700_000_000_123_456,
                                       "attributes": {"log.message": "hello"}}]
    assert root_row.attributes == "" and root_row.events == ""


def test_an_error_span_is_stored_as_an_error_only_when_an_incident_holds_it() -> None:
    """A validator raised and its caller handled it (the request ended OK): the span keeps
    its exception event, stored as no error. The same under a request that failed with it
    (the server span refers to it), or recorded explicitly, is an error."""
    def build(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("GET /signup/", kind=SpanKind.SERVER):
            with tracer.start_as_current_span("shop/forms/validate") as handled:
                handled.add_event("exception", {"exception.type": "ValidationError"})
                handled.set_status(Status(StatusCode.ERROR, "ValidationError: taken"))
            with tracer.start_as_current_span("shop/forms/log") as logged:
                logged.set_status(Status(StatusCode.ERROR, "ValueError: logged"))
                logged.set_attribute(INCIDENT, True)
        with tracer.start_as_current_span("GET /strict/", kind=SpanKind.SERVER) as failed:
            with tracer.start_as_current_span("shop/forms/validate") as raised:
                raised.set_status(Status(StatusCode.ERROR, "ValidationError: taken"))
            with tracer.start_as_current_span("shop/forms/wrapper") as carrier:
                carrier.set_status(Status(StatusCode.ERROR, "ValidationError: taken"))
                carrier.set_attribute(ERROR_SPAN_ID, hex_span(raised))
            failed.set_status(Status(StatusCode.ERROR, "ValidationError: taken"))
            failed.set_attribute(ERROR_SPAN_ID, hex_span(raised))

    spans = _ended(build)
    first = rows.rows(spans[:3])  # the first request: a trace of its own
    assert [(r.name, r.is_error) for r in first] == [
        ("shop/forms/validate", False), ("shop/forms/log", True), ("GET /signup/", False)]
    assert first[0].status_message == "ValidationError: taken"  # still shown, as handled
    second = rows.rows(spans[3:])
    assert [(r.name, r.is_error) for r in second] == [
        ("shop/forms/validate", True), ("shop/forms/wrapper", True), ("GET /strict/", True)]


def hex_span(span: trace.Span) -> str:
    return format(span.get_span_context().span_id, "016x")


def test_secrets_are_redacted_by_the_one_rule() -> None:
    def build(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("s", attributes={
                "http.request.header.authorization": "Bearer abc",
                "db_password": "hunter2",
                "url.query": "page=2&token=s3cr3t",
                "spinner": "visible",
                "message": 'payload {"api_key": "k-123"}'}) as span:
            span.add_event("exception", {"exception.message": "login failed password=pw1"})

    (span,) = _ended(build)
    row = rows.span_row(span, "web")
    attributes = json.loads(row.attributes)
    assert attributes["http.request.header.authorization"] == REDACTED
    assert attributes["db_password"] == REDACTED
    assert attributes["url.query"] == f"page=2&token={REDACTED}"
    assert attributes["spinner"] == "visible"
    assert "k-123" not in attributes["message"]
    assert "pw1" not in row.events and "hunter2" not in row.attributes


def test_values_are_capped_and_the_stack_kept() -> None:
    stack = "Traceback (most recent call last):\n" + "  File \"x.py\", line 1\n" * 1_200
    assert len(stack) > 20_000

    def build(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("s", attributes={
                "long": "x" * 50_000, "many": [str(i) for i in range(100)],
                "nan": math.nan, "nul": "a\x00b", "lone": "c\ud800d"}) as span:
            for i in range(300):
                span.add_event("log", {"log.message": f"line {i} " + "y" * 500})
            span.add_event("exception", {"exception.type": "ValueError",
                                         "exception.stacktrace": stack})

    (span,) = _ended(build)
    row = rows.span_row(span, "web")
    attributes = json.loads(row.attributes)
    assert len(attributes["long"]) == rows.VALUE_CHARS
    assert attributes["many"] == [str(i) for i in range(rows.LIST_ITEMS)]
    assert attributes["nan"] == "nan"
    assert attributes["nul"] == "ab" and attributes["lone"] == "c\ufffdd"
    events = json.loads(row.events)
    assert len(row.events) <= rows.EVENTS_CHARS and row.events.isascii()
    # The stack is there, whole, even behind 300 log events (the rest are counted).
    (exception,) = [e for e in events if e["name"] == "exception"]
    assert exception["attributes"]["exception.stacktrace"] == stack
    # Counted: what the SDK's limit (128 events) and the store's budget left out.
    assert attributes[rows.DROPPED_EVENTS] == 301 - len(events)
    assert len(events) < 301 and events[-1]["name"] == "exception"  # in the original order


def test_attributes_beyond_the_budget_are_counted() -> None:
    def build(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("s", attributes={
                f"k{i}": "v" * 3_000 for i in range(20)}):
            pass

    (span,) = _ended(build)
    row = rows.span_row(span, "web")
    attributes = json.loads(row.attributes)
    assert len(row.attributes) <= rows.ATTRIBUTES_CHARS + 100
    kept = len(attributes) - 1
    assert kept == 10 and attributes[rows.DROPPED_ATTRIBUTES] == 20 - kept


def test_a_span_timed_by_a_frozen_clock_is_stored_as_ending_now() -> None:
    # freezegun in a test-data command: the SDK stamps 1970 (or the frozen date); the trace
    # explorer must not list the trace in 1970 (nor retention delete it at once).
    frozen = 86_400 * 10**9  # 1970-01-02

    def build(tracer: trace.Tracer) -> None:
        span = tracer.start_span("create_test_event", start_time=frozen)
        span.add_event("log", {"log.message": "made"}, timestamp=frozen + 1_000_000)
        span.end(end_time=frozen + 3_000_000)

    (span,) = _ended(build)
    before_us = time.time_ns() // 1000
    row = rows.span_row(span, "web")
    after_us = time.time_ns() // 1000
    assert before_us - 3_000 <= row.start_us <= after_us and row.duration_us == 3_000
    (event,) = json.loads(row.events)
    assert event["time_us"] == row.start_us + 1_000  # moved with its span


def test_two_incidents_recorded_on_one_span_keep_both_raising_spans_errors() -> None:
    """A task logs two exceptions its own functions raised (a batch loop): both are
    incidents. The task span refers to the last one's raising span; the first one's must
    not be stored as a handled exception (the waterfall said "raised, handled", the trace
    counted 1 error of 2)."""
    from django_tracekit.core import errors

    def build(tracer: trace.Tracer) -> None:
        with tracer.start_as_current_span("shop/tasks/import_rows", kind=SpanKind.CONSUMER):
            for value in ("a", "b"):
                try:
                    with tracer.start_as_current_span(
                            "shop/rows/parse", record_exception=False,
                            set_status_on_exception=False) as parse:
                        try:
                            int(value)
                        except ValueError as exc:
                            errors.handle_escaping(exc, parse)
                            raise
                except ValueError as exc:
                    errors.record_error(exc)  # logger.exception in the loop

    stored = rows.rows(_ended(build))
    assert [(r.name, r.is_error) for r in stored] == [
        ("shop/rows/parse", True), ("shop/rows/parse", True),
        ("shop/tasks/import_rows", True)]
    error_spans = [outcome.ErrorSpan(r.span_id, r.parent_span_id, r.kind,
                                     str(json.loads(r.attributes or "{}").get(ERROR_SPAN_ID, "")),
                                     "") for r in stored if r.is_error]
    assert outcome.outcome(error_spans).incidents == 2  # the header: "2 errors"
