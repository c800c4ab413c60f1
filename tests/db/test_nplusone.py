"""N+1: one event per repeated statement on its parent, with the final count, counted once
in the feature's stats; on a view (an SDK span) and an auto-traced function (AutoSpan)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
from django.db import connection
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from django_tracekit import testing
from django_tracekit.core import chain
from django_tracekit.core.spans import AutoSpan
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.db import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT, nplusone
from tests.db.test_wrapper import client_spans, named

ORDERS = 8  # the shop's orders: one customer query each


def n_plus_one_events(span: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["attributes"] for e in span["events"] if e["name"] == N_PLUS_ONE_EVENT]


def test_a_view_looping_over_a_relation_gets_one_event_with_the_final_count(
        run: dict[str, Any]) -> None:
    spans = run["n_plus_one"]["spans"]
    view = named(spans, "shop/views/n_plus_one")
    customer_query = client_spans(spans)[-1]
    assert customer_query["name"] == "SELECT shop_customer"
    assert n_plus_one_events(view) == [{
        "db.query.text": customer_query["attributes"]["db.query.text"],
        N_PLUS_ONE_COUNT: ORDERS,  # not the threshold (5): the count when the view ended
    }]
    assert not n_plus_one_events(named(spans, "GET /n-plus-one/"))


def test_an_auto_traced_function_gets_the_event(run: dict[str, Any]) -> None:
    spans = run["service_n_plus_one"]["spans"]
    (event,) = n_plus_one_events(named(spans, "shop/services/customer_names"))
    assert event[N_PLUS_ONE_COUNT] == ORDERS
    assert "shop_customer" in event["db.query.text"]
    assert not n_plus_one_events(named(spans, "shop/views/service_n_plus_one"))


def test_per_item_auto_traced_calls_flag_the_span_that_looped(run: dict[str, Any]) -> None:
    """One query in each of 8 short auto-traced calls (a serializer's per-object method):
    no call repeats the statement, the view that looped over them did, 8 times."""
    spans = run["per_item_n_plus_one"]["spans"]
    items = [s for s in spans if s["name"] == "shop/services/customer_name"]
    assert len(items) == ORDERS
    assert not any(n_plus_one_events(item) for item in items)
    (event,) = n_plus_one_events(named(spans, "shop/views/per_item_n_plus_one"))
    assert event[N_PLUS_ONE_COUNT] == ORDERS
    assert "shop_customer" in event["db.query.text"]
    assert not n_plus_one_events(named(spans, "GET /per-item-n-plus-one/"))


def test_the_stats_count_one_n_plus_one_per_span(run: dict[str, Any]) -> None:
    usage = run["usage"]
    assert usage["shop/views/n_plus_one"] == 1
    assert usage["shop/services/customer_names"] == 1
    # An entry point counts the N+1 of every span of its requests (where decisions are
    # made); the function that ran the statements keeps its own; the view in between
    # (which ran none itself) has none.
    assert usage["GET /n-plus-one/"] == 1
    assert usage["GET /service-n-plus-one/"] == 1
    assert usage["shop/views/per_item_n_plus_one"] == 1
    assert usage["GET /per-item-n-plus-one/"] == 1
    assert usage["shop/services/customer_name"] == 0
    assert {k for k, v in usage.items() if v} == {
        "shop/views/n_plus_one", "shop/services/customer_names", "GET /n-plus-one/",
        "GET /service-n-plus-one/", "shop/views/per_item_n_plus_one",
        "GET /per-item-n-plus-one/"}


def test_below_the_threshold_or_other_statements_no_event() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("parent") as parent:
        for _ in range(4):
            nplusone.count(parent, "SELECT a", "SELECT a", 5)
        for i in range(10):
            nplusone.count(parent, f"SELECT {i}", "SELECT ?", 5)
    assert not parent.events  # type: ignore[attr-defined]


def test_two_repeated_statements_two_events_counts_final() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("parent") as parent:
        for _ in range(7):
            nplusone.count(parent, "SELECT a", "SELECT a", 3)
        for _ in range(3):
            nplusone.count(parent, "SELECT b", "SELECT b", 3)
        assert not parent.events  # type: ignore[attr-defined]  # added when it ends
    assert [(e.name, dict(e.attributes)) for e in parent.events] == [  # type: ignore[attr-defined]
        (N_PLUS_ONE_EVENT, {"db.query.text": "SELECT a", N_PLUS_ONE_COUNT: 7}),
        (N_PLUS_ONE_EVENT, {"db.query.text": "SELECT b", N_PLUS_ONE_COUNT: 3}),
    ]
    assert parent.end_time is not None  # type: ignore[attr-defined]


def test_other_span_types_get_the_count_when_crossed() -> None:
    class Foreign(NonRecordingSpan):
        def __init__(self) -> None:
            super().__init__(SpanContext(1, 2, False, TraceFlags(1)))
            self.added: list[tuple[str, Any]] = []

        def add_event(self, name: str, attributes: Any = None, timestamp: Any = None) -> None:
            self.added.append((name, dict(attributes)))

    span = Foreign()
    for _ in range(6):
        nplusone.count(span, "k", "SELECT k", 5)
    assert span.added == [(N_PLUS_ONE_EVENT, {"db.query.text": "SELECT k", N_PLUS_ONE_COUNT: 5})]


def test_a_task_boundary_counts_per_item_calls_and_leaves_out_what_one_below_got() -> None:
    """A boundary SDK span (a task): "SELECT b" once in each of 6 per-item calls is its
    N+1; "SELECT a" repeated 5 times inside one call is that call's, not again the task's
    (though the task's own count of it crossed first)."""
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("task") as task:
        token = chain.set_top(chain.Root(otel_context.get_current()))
        try:
            parent_sc = task.get_span_context()
            items = [AutoSpan("shop/item", SpanContext(parent_sc.trace_id, 100 + i, False,
                                                       TraceFlags(1)), parent_sc, {}, 0)
                     for i in range(6)]
            for item in items:
                nplusone.count(item, "SELECT b", "SELECT b", 5)
            for item in items[:3]:
                nplusone.count(item, "SELECT a", "SELECT a", 5)
            for _ in range(5):
                nplusone.count(items[3], "SELECT a", "SELECT a", 5)
        finally:
            chain.reset_top(token)
    assert [dict(e.attributes) for e in task.events] == [  # type: ignore[attr-defined]
        {"db.query.text": "SELECT b", N_PLUS_ONE_COUNT: 6}]
    assert [dict(e.attributes) for e in items[3]._events] == [
        {"db.query.text": "SELECT a", N_PLUS_ONE_COUNT: 5}]
    assert not any(item._events for i, item in enumerate(items) if i != 3)


def test_ended_parents_are_forgotten() -> None:
    nplusone.clear()
    tracer = TracerProvider().get_tracer("t")
    for _ in range(600):
        with tracer.start_as_current_span("parent") as parent:
            nplusone.count(parent, "SELECT a", "SELECT a", 5)
    assert nplusone.tracked() <= 300  # swept as it grew (at most twice the open ones)
    with tracer.start_as_current_span("parent") as parent:
        for _ in range(5):
            nplusone.count(parent, "SELECT a", "SELECT a", 5)
    assert nplusone.tracked() <= 300
    nplusone.clear()


def test_an_ended_parent_is_not_kept_alive_by_its_tally() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("parent") as parent:
        nplusone.count(parent, "SELECT a", "SELECT a", 5)
    assert nplusone.tracked() >= 1
    gone = weakref.ref(parent)
    del parent
    gc.collect()
    assert gone() is None


@pytest.mark.django_db
def test_the_threshold_is_the_setting(settings: Any) -> None:
    def run_three() -> list[Any]:
        with (testing.capture_spans() as spans,
              get_tracer().start_as_current_span("parent"),
              connection.cursor() as cursor):
            for _ in range(3):
                cursor.execute("SELECT 1 WHERE 2 = %s", [2])
        (parent,) = [s for s in spans if s.name == "parent"]
        return [dict(e.attributes or {}) for e in parent.events if e.name == N_PLUS_ONE_EVENT]

    assert run_three() == []  # default: 5
    settings.TRACEKIT = {**settings.TRACEKIT, "DB": {"N_PLUS_ONE": 3}}
    assert run_three() == [{"db.query.text": "SELECT ? WHERE ? = %s", N_PLUS_ONE_COUNT: 3}]


@pytest.mark.django_db
def test_a_flood_of_queries_is_capped_per_parent_and_counted() -> None:
    with (testing.capture_spans() as spans,
          get_tracer().start_as_current_span("parent"),
          connection.cursor() as cursor):
        for i in range(nplusone.MAX_SPANS + 7):
            cursor.execute("SELECT %s", [i])
    (parent,) = [s for s in spans if s.name == "parent"]
    assert len([s for s in spans if s.name == "SELECT"]) == nplusone.MAX_SPANS
    assert parent.attributes[nplusone.SPANS_DROPPED] == 7
    (event,) = [e for e in parent.events if e.name == N_PLUS_ONE_EVENT]
    assert event.attributes[N_PLUS_ONE_COUNT] == nplusone.MAX_SPANS + 7  # all counted
