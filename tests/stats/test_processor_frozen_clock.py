"""Spans timed by a frozen clock (freezegun in a test-data command or a test) are counted
in the minute they really ended, not in 1970 or on the frozen date."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.stats.records import MINUTE_NS, ErrorSample

pytestmark = pytest.mark.requires("freezegun")


class Minutes:
    """A writer that keeps the minute of every increment."""

    def __init__(self) -> None:
        self.minutes: dict[str, list[int]] = {}
        self.durations: dict[str, int] = {}

    def __call__(self, increments: Mapping[Any, Any], errors: Sequence[ErrorSample]) -> int:
        for (feature, _kind, _service, minute), entry in increments.items():
            self.minutes.setdefault(feature, []).append(minute)
            self.durations[feature] = self.durations.get(feature, 0) + entry[2]
        return len(increments)


def test_spans_of_a_frozen_clock_are_bucketed_by_the_real_one() -> None:
    from freezegun import freeze_time

    writer = Minutes()
    processor = StatsProcessor(writer, start_thread=False)
    provider = TracerProvider()  # not shielded: the SDK takes the frozen time
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("django_tracekit")
    before = time.time_ns() // MINUTE_NS
    for frozen in ("1970-01-02", "2099-01-01"):
        with freeze_time(frozen):
            tracer.start_span(f"tests/create_test_event/{frozen[:4]}").end()
    hour_ago = time.time_ns() - 3600 * 10**9
    tracer.start_span("tests/an_hour_ago", start_time=hour_ago - 10**9).end(
        end_time=hour_ago - 10**6)  # an explicit past end: kept where it is
    now_ns = time.time_ns()
    tracer.start_span("tests/now", start_time=now_ns - 5 * 10**6).end(end_time=now_ns)
    assert processor.flush()
    after = time.time_ns() // MINUTE_NS
    assert set(writer.minutes) == {"tests/create_test_event/1970",
                                   "tests/create_test_event/2099", "tests/an_hour_ago",
                                   "tests/now"}
    assert writer.minutes.pop("tests/an_hour_ago") == [(hour_ago - 10**6) // MINUTE_NS]
    for minutes in writer.minutes.values():
        assert len(minutes) == 1 and before <= minutes[0] <= after
    # Durations are the span's own (a shift keeps them): 1 s less 1 ms, and 5 ms.
    assert writer.durations["tests/an_hour_ago"] == 10**9 - 10**6
    assert writer.durations["tests/now"] == 5 * 10**6


def test_errors_under_a_frozen_clock_are_counted_under_their_entry_point() -> None:
    # As set up by tracekit: the SDK stamps spans with the real clock; an error's occurrence
    # must be on the same clock, or it looks older than its request and waits for a caller
    # that never comes (counted under "(other)" at the end).
    import sys

    from freezegun import freeze_time
    from opentelemetry.trace import SpanKind

    import django_tracekit as tracekit
    from django_tracekit.core import clock
    from tests.stats.test_groups_processor import Groups, charge

    module = sys.modules[clock.SDK_MODULE]
    original = module.time_ns  # type: ignore[attr-defined]
    assert clock.shield_sdk()
    try:
        groups = Groups()
        processor = StatsProcessor(lambda increments, errors: 0, start_thread=False,
                                   group_writer=groups)
        provider = TracerProvider()
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("django_tracekit")
        before = time.time_ns() // MINUTE_NS
        with freeze_time("1970-01-02"), \
                tracer.start_as_current_span("POST /pay/", kind=SpanKind.SERVER) as server:
            try:
                charge(5)
            except ValueError as exc:
                tracekit.record_error(exc, server)
        assert processor.flush()
    finally:
        module.time_ns = original  # type: ignore[attr-defined]
    assert groups.counts() == {("tests/stats/test_groups_processor/charge", "POST /pay/"): 1}
    (minute,) = {key[4] for batch in groups.batches for key in batch.counts}
    assert before <= minute <= time.time_ns() // MINUTE_NS
