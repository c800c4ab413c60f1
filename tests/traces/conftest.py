"""The trace store's processor on this process's provider, for the end-to-end tests (real
requests through the middleware -> the processor -> its database writer -> the pages)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from django_tracekit import bootstrap
from django_tracekit.destinations.traces import keep
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.destinations.traces.records import Part
from django_tracekit.destinations.traces.store import DatabaseWriter

_attached: TraceStoreProcessor | None = None


class _Nowhere:
    """The writer between tests: the processor stays on the provider for the session and
    sees other tests' spans; at exit the test database is gone."""

    def kept(self, trace_ids: list[str]) -> set[str]:
        return set()

    def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
        return 0

    def trim(self, max_traces: int) -> int:
        return 0


@pytest.fixture
def store_processor() -> Iterator[TraceStoreProcessor]:
    """The trace store's processor on this process's provider (the bootstrap runs once per
    process and tests/settings.py's writer is the in-memory one): attached once with the
    database writer, every trace kept, emptied for every test."""
    global _attached
    if _attached is None:
        state = bootstrap.state()
        assert state is not None and isinstance(state.provider, TracerProvider)
        _attached = TraceStoreProcessor(DatabaseWriter(), start_thread=False, sample_rate=1.0)
        state.provider.add_span_processor(_attached)
    _attached._init_state()
    _attached._writer = DatabaseWriter()
    _attached.sample_threshold = keep.sample_threshold(1.0)  # a test may lower it
    yield _attached
    _attached._writer = _Nowhere()
    _attached._init_state()
