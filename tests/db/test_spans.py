"""A query span takes auto-tracing's SDK shortcut where the SDK would decide the same, and
the SDK's own path anywhere else; both are CLIENT children of the current span."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, StatusCode

from django_tracekit import testing
from django_tracekit.core import tracer as tracer_module
from django_tracekit.core.errors import INCIDENT, record_error
from django_tracekit.core.sampling import RecordEverySampledOut, RecordSampledOut
from django_tracekit.sources.db import spans

ATTRIBUTES = {"db.system.name": "sqlite", "db.query.text": "SELECT ?"}


def test_the_shortcut_where_the_sdk_would_decide_the_same() -> None:
    # tests/settings.py: ParentBased under the trace store's wrapper (stats off).
    tracer = tracer_module.get_tracer()
    with testing.capture_spans() as captured, tracer.start_as_current_span("parent") as parent:
        span = spans.start("SELECT t", context.get_current(), parent, dict(ATTRIBUTES))
        assert isinstance(span, spans.QuerySpan)
        record_error(ValueError("boom"), span)
        span.end()
        span.end()  # once
    query = captured.all()[0]
    assert (query.name, query.kind) == ("SELECT t", SpanKind.CLIENT)
    assert query.parent is not None and query.parent.span_id == parent.get_span_context().span_id
    assert query.context.trace_id == parent.get_span_context().trace_id
    assert query.instrumentation_scope is not None
    assert query.instrumentation_scope.name == "django_tracekit"
    # Recorded explicitly: an incident (the span says so), with its type.
    assert dict(query.attributes or {}) == {**ATTRIBUTES, "error.type": "ValueError",
                                            INCIDENT: True}
    assert query.status.status_code is StatusCode.ERROR
    assert [e.name for e in query.events] == ["exception"]
    assert len([s for s in captured if s.name == "SELECT t"]) == 1


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.ended: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


@pytest.fixture
def other_sampler() -> Iterator[tuple[TracerProvider, Collect]]:
    old = tracer_module.get_tracer()
    provider = TracerProvider(sampler=ALWAYS_ON)  # not ParentBased: only the SDK decides
    collect = Collect()
    provider.add_span_processor(collect)
    tracer_module.set_tracer(provider.get_tracer("django_tracekit"))
    try:
        yield provider, collect
    finally:
        tracer_module.set_tracer(old)


def test_the_sdk_makes_it_where_the_shortcut_does_not_apply(
        other_sampler: tuple[TracerProvider, Collect]) -> None:
    provider, collect = other_sampler
    with provider.get_tracer("app").start_as_current_span("parent") as parent:
        span = spans.start("SELECT t", context.get_current(), parent, dict(ATTRIBUTES))
        assert not isinstance(span, spans.QuerySpan)
        span.end()
    query = collect.ended[0]
    assert (query.name, query.kind) == ("SELECT t", SpanKind.CLIENT)
    assert query.parent is not None and query.parent.span_id == parent.get_span_context().span_id


@pytest.mark.parametrize(("wrapper", "recorded"), [
    (RecordSampledOut, False),  # the stats' wrapper records server/consumer/internal only
    (RecordEverySampledOut, True),  # the trace store's: every kind, CLIENT included
])
def test_under_a_sampled_out_parent_the_child_is_recorded_as_the_sdk_would(
        wrapper: type[RecordSampledOut], recorded: bool) -> None:
    old = tracer_module.get_tracer()
    provider = TracerProvider(sampler=wrapper(ParentBased(TraceIdRatioBased(0.0))))
    collect = Collect()
    provider.add_span_processor(collect)
    tracer_module.set_tracer(provider.get_tracer("django_tracekit"))
    try:
        with tracer_module.get_tracer().start_as_current_span("parent") as parent:
            assert parent.is_recording() and not parent.get_span_context().trace_flags.sampled
            span = spans.start("SELECT t", context.get_current(), parent, dict(ATTRIBUTES))
            assert span.is_recording() is recorded
            assert isinstance(span, spans.QuerySpan) is recorded  # the shortcut when it may
            span.end()
    finally:
        tracer_module.set_tracer(old)
    ended = [(s.name, s.context.trace_flags.sampled) for s in collect.ended]
    assert ended == ([("SELECT t", False), ("parent", False)] if recorded else
                     [("parent", False)])
