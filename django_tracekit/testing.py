"""Assert on tracekit's spans and feature-usage counts in your own tests.

In a test run (``manage.py test`` or pytest-django, see :mod:`django_tracekit.core.testrun`)
tracekit writes nothing to a database: no flusher thread, no write at exit; the
feature-usage counts stay in this process's memory, where :func:`capture_stats` reads
them. Spans go wherever ``TRACEKIT['EXPORTER']`` says (``"none"`` is the default without
an endpoint); :func:`capture_spans` sees them whatever the exporter.

Django ``TestCase``::

    from django_tracekit import testing as tracekit_testing

    class CheckoutTests(TestCase):
        def test_checkout_is_traced(self):
            with tracekit_testing.capture_spans() as spans, \\
                    tracekit_testing.capture_stats() as usage:
                self.client.post("/orders/")
            view = spans.named("shop/orders/views/create")
            self.assertEqual(view.attributes["code.function.name"], "shop.orders.views.create")
            self.assertEqual(usage.calls("POST /orders/"), 1)

pytest::

    @pytest.fixture
    def spans():
        with tracekit_testing.capture_spans() as captured:
            yield captured

Spans are those *recorded* in this process (every thread) while the block runs, in the
order they ended; with stats on, spans the sampler dropped are recorded too (never
exported): ``span.context.trace_flags.sampled`` tells them apart.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import overload

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from django_tracekit import bootstrap
from django_tracekit.core import testrun
from django_tracekit.destinations.stats.memory import MemoryCounts, memory_counts
from django_tracekit.destinations.stats.processor import flush_all, processors
from django_tracekit.destinations.stats.records import ErrorSample, FeatureKey

__all__ = ["CapturedSpans", "FeatureCounts", "StatsCounts", "capture_spans", "capture_stats"]


class CapturedSpans(Sequence[ReadableSpan]):
    """Finished spans, in the order they ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReadableSpan] = []

    def _add(self, span: ReadableSpan) -> None:
        with self._lock:
            self._spans.append(span)

    def all(self) -> list[ReadableSpan]:
        with self._lock:
            return list(self._spans)

    @overload
    def __getitem__(self, index: int) -> ReadableSpan: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ReadableSpan]: ...
    def __getitem__(self, index: int | slice) -> ReadableSpan | Sequence[ReadableSpan]:
        return self.all()[index]

    def __len__(self) -> int:
        with self._lock:
            return len(self._spans)

    def names(self) -> list[str]:
        return [span.name for span in self.all()]

    def all_named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.all() if span.name == name]

    def named(self, name: str) -> ReadableSpan:
        """The one span called ``name``; ``AssertionError`` (listing the names) otherwise."""
        matches = self.all_named(name)
        if len(matches) != 1:
            raise AssertionError(f"{len(matches)} spans named {name!r}; captured: {self.names()}")
        return matches[0]

    def of_kind(self, kind: SpanKind) -> list[ReadableSpan]:
        return [span for span in self.all() if span.kind == kind]

    def errors(self) -> list[ReadableSpan]:
        """Spans with ERROR status."""
        return [span for span in self.all() if span.status.status_code is StatusCode.ERROR]

    def children_of(self, parent: ReadableSpan) -> list[ReadableSpan]:
        context = parent.context
        if context is None:
            return []
        return [span for span in self.all() if span.parent is not None
                and span.parent.span_id == context.span_id
                and span.parent.trace_id == context.trace_id]

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()


class _Hub(SpanProcessor):
    """Added once to tracekit's provider; hands each finished span to the open captures."""

    def __init__(self) -> None:
        self.captures: tuple[CapturedSpans, ...] = ()  # replaced, never mutated: no lock to read

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        for capture in self.captures:
            capture._add(span)


_hub: _Hub | None = None
_lock = threading.Lock()


def _installed_hub() -> _Hub:
    global _hub
    with _lock:
        if _hub is None:
            state = bootstrap.state()
            if state is None or state.provider is None:
                why = state.disabled_reason if state is not None else (
                    "tracekit has not started (django.setup() not run, or "
                    "django_tracekit not in INSTALLED_APPS)")
                raise RuntimeError(f"tracekit captures no spans: {why}")
            _hub = _Hub()
            state.provider.add_span_processor(_hub)
        return _hub


@contextmanager
def capture_spans() -> Iterator[CapturedSpans]:
    """Collect the spans that end while the block runs (nesting and threads allowed)."""
    hub = _installed_hub()
    captured = CapturedSpans()
    with _lock:
        hub.captures = (*hub.captures, captured)
    try:
        yield captured
    finally:
        with _lock:
            hub.captures = tuple(c for c in hub.captures if c is not captured)


@dataclass(frozen=True)
class FeatureCounts:
    """What the admin's feature-usage page would add for one feature."""

    calls: int = 0
    errors: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


class StatsCounts:
    """Feature-usage counts made while a :func:`capture_stats` block ran."""

    def __init__(self) -> None:
        self._memory = MemoryCounts()

    def features(self) -> dict[FeatureKey, FeatureCounts]:
        """``{(feature, kind, service): counts}``; kind is request, task or function."""
        totals, _ = self._memory.snapshot()
        return {key: FeatureCounts(e[0], e[1], e[2] / 1e6, e[3] / 1e6)
                for key, e in totals.items()}

    def get(self, feature: str, kind: str | None = None) -> FeatureCounts:
        """The counts of ``feature`` (every kind and service unless ``kind`` is given)."""
        rows = [c for (name, k, _), c in self.features().items()
                if name == feature and (kind is None or k == kind)]
        return FeatureCounts(sum(r.calls for r in rows), sum(r.errors for r in rows),
                             sum(r.total_ms for r in rows),
                             max((r.max_ms for r in rows), default=0.0))

    def calls(self, feature: str, kind: str | None = None) -> int:
        return self.get(feature, kind).calls

    def errors(self, feature: str, kind: str | None = None) -> int:
        return self.get(feature, kind).errors

    @property
    def error_samples(self) -> list[ErrorSample]:
        """The recorded errors (type, message, stack, trace id), oldest first."""
        return self._memory.snapshot()[1]


@contextmanager
def capture_stats() -> Iterator[StatsCounts]:
    """The feature-usage counts made while the block runs (this process, every thread),
    exactly as they would reach the admin.

    Only in a test run, where the counts stay in memory (outside one they go to the
    database: read them in the admin). Raises ``RuntimeError`` otherwise.
    """
    if not testrun.active():
        raise RuntimeError("capture_stats() works in a test run (manage.py test, "
                           "pytest-django, or after django_tracekit.core.testrun.mark())")
    if not any(p.in_test_run for p in processors()):
        raise RuntimeError("capture_stats(): feature-usage stats are off "
                           "(TRACEKIT['STATS']['ENABLED'], or tracing is off)")
    flush_all(test_run_only=True)  # what was counted before the block is not in it
    counts = StatsCounts()
    with _lock:
        memory_counts.listeners = (*memory_counts.listeners, counts._memory)
    try:
        yield counts
    finally:
        flush_all(test_run_only=True)
        with _lock:
            memory_counts.listeners = tuple(
                c for c in memory_counts.listeners if c is not counts._memory)


# tracekit's own data code: its queries never become spans (core.vocabulary.OWN_DATA_MARKER).
__tracekit_own_data__ = True
