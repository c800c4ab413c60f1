"""django_tracekit.testing: spans and feature-usage counts asserted in a project's tests,
in pytest (this suite runs under pytest-django) and in a Django TestCase."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.test import SimpleTestCase
from opentelemetry.trace import SpanKind

import django_tracekit as tracekit
from django_tracekit import bootstrap, testing
from django_tracekit.destinations.stats.processor import StatsProcessor
from tests.support.scripts import check, run_django

_processor: StatsProcessor | None = None


@pytest.fixture(scope="module", autouse=True)
def default_stats_processor() -> None:
    """tests/settings.py turns STATS off; attach a processor with the default writer, as
    the bootstrap does for a project (once: a provider keeps its processors)."""
    global _processor
    if _processor is None:
        state = bootstrap.state()
        assert state is not None and state.provider is not None
        _processor = StatsProcessor(start_thread=False)
        state.provider.add_span_processor(_processor)


@pytest.fixture
def spans() -> Iterator[testing.CapturedSpans]:
    with testing.capture_spans() as captured:
        yield captured


@tracekit.traced
def work(fail: bool = False) -> None:
    if fail:
        raise ValueError("card declined")


def test_captures_the_spans_that_end_inside_the_block() -> None:
    with tracekit.span("before"):
        pass
    with testing.capture_spans() as spans, tracekit.span("outer"):
        work()
        with tracekit.span("inner"):
            pass
    with tracekit.span("after"):
        pass
    assert spans.names() == [tracekit.name_for(work), "inner", "outer"]
    outer = spans.named("outer")
    assert [s.name for s in spans.children_of(outer)] == [tracekit.name_for(work), "inner"]
    assert spans.of_kind(SpanKind.INTERNAL) == spans.all()
    assert len(spans) == 3 and spans[-1] is outer


def test_named_requires_exactly_one_and_lists_what_was_captured(
        spans: testing.CapturedSpans) -> None:
    work()
    work()
    with pytest.raises(AssertionError, match=r"2 spans named .*work"):
        spans.named(tracekit.name_for(work))
    with pytest.raises(AssertionError, match=r"0 spans named 'missing'; captured: \["):
        spans.named("missing")
    assert len(spans.all_named(tracekit.name_for(work))) == 2


def test_nested_captures_and_other_threads(spans: testing.CapturedSpans) -> None:
    with testing.capture_spans() as inner:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    work(fail=False)
    assert len(inner) == 1
    assert len(spans) == 2  # the outer capture saw both


def test_errors_are_spans_with_error_status(spans: testing.CapturedSpans) -> None:
    work()
    with pytest.raises(ValueError):
        work(fail=True)
    errors = spans.errors()
    assert len(errors) == 1
    assert errors[0].events[0].attributes["exception.message"] == "card declined"


def test_capture_stats_counts_exactly_what_the_block_did() -> None:
    name = tracekit.name_for(work)
    work()  # before the block: not in it
    with testing.capture_stats() as usage:
        for _ in range(5):
            work()
        with pytest.raises(ValueError):
            work(fail=True)
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    work()  # after: not in it either
    assert usage.calls(name) == 7
    assert usage.calls(name, "function") == 7
    assert usage.calls(name, "request") == 0
    assert usage.errors(name) == 1
    counts = usage.get(name)
    assert counts.total_ms >= counts.max_ms > 0
    assert [(e.feature, e.type, e.message) for e in usage.error_samples] == [
        (name, "ValueError", "card declined")]
    assert set(usage.features()) == {(name, "function", "tests")}


def test_nothing_is_written_to_the_database_in_a_test_run() -> None:
    assert _processor is not None and _processor.in_test_run
    assert _processor.thread is None
    with testing.capture_stats() as usage:
        work()
    assert usage.calls(tracekit.name_for(work)) == 1
    # Reaching here without pytest-django's "Database access not allowed": no query was made.


class DjangoTestCaseUsage(SimpleTestCase):
    """The same helpers from a Django TestCase (no database: SimpleTestCase forbids it)."""

    def test_spans_and_counts(self) -> None:
        with testing.capture_spans() as spans, testing.capture_stats() as usage:
            work()
        self.assertEqual(spans.named(tracekit.name_for(work)).kind, SpanKind.INTERNAL)
        self.assertEqual(usage.calls(tracekit.name_for(work)), 1)


def test_outside_a_test_run_capture_stats_refuses_and_spans_still_work() -> None:
    result = check(run_django("""
        import django_tracekit as tracekit
        from django_tracekit import testing
        from django_tracekit.core import testrun
        assert not testrun.active()
        with testing.capture_spans() as spans:
            with tracekit.span("x"):
                pass
        assert spans.names() == ["x"], spans.names()
        try:
            with testing.capture_stats():
                pass
        except RuntimeError as exc:
            print("refused:", exc)
    """, {"TRACEKIT": {"EXPORTER": "none"}}))
    assert "refused: capture_stats() works in a test run" in result.stdout


def test_capture_spans_says_why_when_tracing_is_off() -> None:
    result = check(run_django("""
        from django_tracekit import testing
        try:
            with testing.capture_spans():
                pass
        except RuntimeError as exc:
            print("refused:", exc)
    """, {"TRACEKIT": {"ENABLED": False}}))
    assert "refused: tracekit captures no spans: TRACEKIT['ENABLED'] is False" in result.stdout


def test_capture_stats_says_so_when_stats_are_off() -> None:
    result = check(run_django("""
        from django_tracekit import testing
        from django_tracekit.core import testrun
        testrun.mark()
        try:
            with testing.capture_stats():
                pass
        except RuntimeError as exc:
            print("refused:", exc)
    """, {"TRACEKIT": {"EXPORTER": "none", "STATS": {"ENABLED": False}}}))
    assert "refused: capture_stats(): feature-usage stats are off" in result.stdout
