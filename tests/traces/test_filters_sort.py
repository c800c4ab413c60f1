"""``?sort=-duration``: the trace list's slowest-first order (the feature page links to it)."""

from __future__ import annotations

import pytest

from django_tracekit.pages.traces import filters
from django_tracekit.storage.trace_models import Trace

pytestmark = [pytest.mark.django_db]


def _trace(n: int, start_us: int, duration_us: int) -> None:
    Trace.objects.create(trace_id=f"{n:032x}", start_us=start_us, end_us=start_us + duration_us,
                         services="web", span_count=1, error_count=0, reasons="sample",
                         root_name="GET /x/")


def test_slowest_first() -> None:
    _trace(1, 1_000, 50)
    _trace(2, 2_000, 900)
    _trace(3, 3_000, 300)
    newest = [t.trace_id[-1] for t in filters.traces(filters.parse({}))]
    assert newest == ["3", "2", "1"]
    query = filters.parse({"sort": "-duration"})
    assert query.sort == "-duration" and query.values["sort"] == "-duration"
    assert [t.trace_id[-1] for t in filters.traces(query)] == ["2", "3", "1"]


def test_an_unknown_order_is_dropped_with_a_message() -> None:
    query = filters.parse({"sort": "name"})
    assert query.sort == "" and "sort" not in query.values
    assert any("sort order" in e for e in query.errors)
