"""``manage.py tracekit_prune`` on the trace store: retention in hours (by a trace's end)
and the MAX_TRACES cap, dry run first."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from django_tracekit.destinations.traces import store
from django_tracekit.destinations.traces.records import Part, SpanRow
from django_tracekit.storage.trace_models import Trace, TraceSpan

pytestmark = pytest.mark.django_db

HOUR_US = 3600 * 10**6


def _trace(n: int, ended_hours_ago: float) -> Part:
    end = int(time.time() * 1e6 - ended_hours_ago * HOUR_US)
    return Part(f"{n:032x}", "error", [SpanRow(f"{1:016x}", "", "GET /o/", "server", "web",
                                               end - 1_000, 1_000, True, "", "", ""),
                                       SpanRow(f"{2:016x}", f"{1:016x}", "v", "internal",
                                               "web", end - 900, 100, False, "", "", "")])


def _prune(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("tracekit_prune", *args, stdout=out)
    return [line for line in out.getvalue().splitlines() if line.startswith("tracekit_trace ")]


def test_prune_deletes_traces_beyond_the_retention_and_the_cap() -> None:
    store.clear_cache()
    store.write([_trace(1, 80), _trace(2, 73), _trace(3, 10), _trace(4, 2), _trace(5, 1)])
    with override_settings(TRACEKIT={"TRACES": {"MAX_TRACES": 2}, "STATS": {"ENABLED": False}}):
        assert _prune("--dry-run") == [
            "tracekit_trace (older than the retention): would delete 2",
            "tracekit_trace (beyond MAX_TRACES): would delete 1"]
        assert Trace.objects.count() == 5
        assert _prune() == ["tracekit_trace (older than the retention): deleted 2",
                            "tracekit_trace (beyond MAX_TRACES): deleted 1"]
    assert sorted(Trace.objects.values_list("trace_id", flat=True)) == [f"{4:032x}",
                                                                          f"{5:032x}"]
    assert TraceSpan.objects.count() == 4  # the spans went with their traces
    assert _prune("--trace-hours", "1.5") == [
        "tracekit_trace (older than the retention): deleted 1",
        "tracekit_trace (beyond MAX_TRACES): deleted 0"]


def test_prune_refuses_a_retention_that_is_not_positive() -> None:
    with pytest.raises(CommandError, match="--trace-hours must be > 0"):
        _prune("--trace-hours", "0")
