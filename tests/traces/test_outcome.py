"""outcome and summary: failed vs handled vs recovered, incidents counted once, the list's
N+1 count read defensively."""

from __future__ import annotations

import json

import pytest

from django_tracekit.pages.traces import outcome, summary
from django_tracekit.storage.trace_models import Trace
from tests.support.traces import SpanSpec, make_trace, span_id, trace_id

E = outcome.ErrorSpan


@pytest.mark.parametrize(("spans", "retries", "key", "label", "incidents"), [
    ([], 0, "ok", "ok", 0),
    ([], 2, "recovered", "recovered after 2 retries", 0),
    # A client call failed and was caught: handled.
    ([E("c", "b", "client", "", "")], 0, "handled", "handled error", 1),
    # A root that carries its child's error: one incident, the entry point failed.
    ([E("c", "b", "internal", "", ""), E("a", "", "internal", "c", "")], 0, "failed",
     "failed", 1),
    # A task run (consumer) failed below a request that answered.
    ([E("t", "p", "consumer", "", "FAILURE")], 1, "failed", "failed after 1 retry", 1),
    # An attempt Celery retried is not a failure of the entry point.
    ([E("t", "p", "consumer", "", "RETRY")], 1, "recovered", "recovered after 1 retry", 1),
    # Two errors, each carried by a span above it: two incidents.
    ([E("x", "b", "client", "", ""), E("b", "a", "internal", "x", ""),
      E("y", "b", "client", "", ""), E("z", "a", "internal", "y", "")], 0, "handled",
     "handled error", 2),
    # A 500 answering an exception raised (and caught) in its service while it ran: one.
    ([E("r", "", "server", "", "", True, "web", 0, 100), E("v", "r", "internal", "", "",
                                                           False, "web", 10, 20)],
     0, "failed", "failed", 1),
    # A 5xx with no exception under it is an incident of its own...
    ([E("r", "", "server", "", "", True, "web", 0, 100)], 0, "failed", "failed", 1),
    # ... and so is one beside an error of another service, or one raised before it ran.
    ([E("r", "", "server", "", "", True, "web", 0, 100),
      E("t", "p", "consumer", "", "FAILURE", False, "worker", 50, 60)], 0, "failed", "failed",
     2),
    ([E("r", "", "server", "", "", True, "web", 50, 100),
      E("v", "q", "internal", "", "", False, "web", 10, 20)], 0, "failed", "failed", 2),
])
def test_outcome(spans: list[outcome.ErrorSpan], retries: int, key: str, label: str,
                 incidents: int) -> None:
    found = outcome.outcome(spans, retries)
    assert (found.key, found.label, found.incidents) == (key, label, incidents)


def test_the_n_plus_one_count_is_read_defensively() -> None:
    def events(*items: object) -> str:
        return json.dumps(list(items))

    flag = {"name": "tracekit.n_plus_one", "attributes": {"tracekit.n_plus_one.count": 12}}
    assert summary.n_plus_one_count(events(flag)) == 12
    assert summary.n_plus_one_count(events(
        flag, {**flag, "attributes": {"tracekit.n_plus_one.count": 30}})) == 30
    assert summary.n_plus_one_count(events({"name": "tracekit.n_plus_one"})) == 1  # no count
    assert summary.n_plus_one_count(events(
        {"name": "tracekit.n_plus_one", "attributes": {"tracekit.n_plus_one.count": "x"}})) == 1
    for odd in ("", "{", '"tracekit.n_plus_one"', "[1, 2]", events({"name": "log"})):
        assert summary.n_plus_one_count(odd) == 0


@pytest.mark.django_db
def test_the_list_summary_of_a_page() -> None:
    make_trace(trace_id(1), [
        SpanSpec("GET /", span_id(1), kind="server", is_error=True,
                 status_message="Boom: b", attributes={"tracekit.error.span_id": span_id(2)}),
        SpanSpec("view", span_id(2), span_id(1), 1, is_error=True, status_message="Boom: a",
                 events=[{"name": "tracekit.n_plus_one",
                          "attributes": {"tracekit.n_plus_one.count": 7}}])])
    make_trace(trace_id(2), [SpanSpec("GET /ok/", span_id(1), kind="server")])
    pks = {t.trace_id: t.pk for t in Trace.objects.all()}
    found = summary.of_traces([pks[trace_id(1)], pks[trace_id(2)]])
    one, two = found[pks[trace_id(1)]], found[pks[trace_id(2)]]
    assert (one.outcome.key, one.outcome.incidents, one.outcome.carriers,
            one.outcome.n_plus_one) == ("failed", 1, 1, 7)
    assert one.message == "Boom: b"  # the earliest error span's
    assert (two.outcome.key, two.message) == ("ok", "")
    assert summary.of_traces([]) == {}
