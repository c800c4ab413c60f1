"""The TracerProvider the instrumentors get: tracekit's, making spans only inside a trace.

The contrib instrumentors start a root CLIENT span for a call made outside any trace (a
health check poller, a background thread, a library phoning home): noise without a request,
task or command around it. This wrapper hands them tracers that start a span only when the
context holds a valid span (recording or sampled out: a sampled-out parent still propagates
its decision), as the cache spans do.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util import types

_NO_SPAN: AbstractContextManager[Span] = nullcontext(trace.INVALID_SPAN)  # reusable


def in_trace(context: Context | None) -> bool:
    """Whether ``context`` (default: the current one) holds a valid span."""
    return trace.get_current_span(context).get_span_context().is_valid


class InTraceTracer(trace.Tracer):
    """Delegates to ``tracer`` inside a trace; outside one, a non-recording invalid span."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(self, name: str, context: Context | None = None,
                   kind: SpanKind = SpanKind.INTERNAL, attributes: types.Attributes = None,
                   links: Sequence[Link] | None = None, start_time: int | None = None,
                   record_exception: bool = True,
                   set_status_on_exception: bool = True) -> Span:
        if not in_trace(context):
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, kind, attributes, links, start_time,
                                       record_exception, set_status_on_exception)

    def start_as_current_span(  # type: ignore[override]
            self, name: str, context: Context | None = None,
            kind: SpanKind = SpanKind.INTERNAL, attributes: types.Attributes = None,
            links: Sequence[Link] | None = None, start_time: int | None = None,
            record_exception: bool = True, set_status_on_exception: bool = True,
            end_on_exit: bool = True) -> AbstractContextManager[Span]:
        # The delegate's own context manager, not one wrapped around it: a span's cost.
        if not in_trace(context):
            return _NO_SPAN  # nothing current to inject: no traceparent is sent
        return self._tracer.start_as_current_span(
            name, context, kind, attributes, links, start_time, record_exception,
            set_status_on_exception, end_on_exit)


class InTraceProvider(trace.TracerProvider):
    """``provider``'s tracers, wrapped in :class:`InTraceTracer`."""

    def __init__(self, provider: trace.TracerProvider) -> None:
        self.provider = provider

    def get_tracer(self, instrumenting_module_name: str,
                   instrumenting_library_version: str | None = None,
                   schema_url: str | None = None, attributes: types.Attributes = None,
                   **kwargs: Any) -> trace.Tracer:
        return InTraceTracer(self.provider.get_tracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes,
            **kwargs))
