"""The TracerProvider the instrumentors get: tracekit's, making spans only inside a trace.

The contrib instrumentors start a root CLIENT span for a call made outside any trace (a
health check poller, a background thread, a library phoning home): noise without a request,
task or command around it. This wrapper hands them tracers that start a span only when the
context holds a valid span (recording or sampled out: a sampled-out parent still propagates
its decision), as the cache spans do.

An exception escaping a call is recorded on its CLIENT span by the error convention
(``errors.handle_client_error``: tracekit's full stack, marked as recorded), instead of the
SDK's own ``record_exception``: the auto-traced function, view or task it escapes into then
adds ERROR status and a reference, not a second stack (a refused connection was stored
twice before).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util import types

from django_tracekit.core.errors import handle_client_error

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
        if not record_exception:
            return self._tracer.start_as_current_span(
                name, context, kind, attributes, links, start_time, False,
                set_status_on_exception, end_on_exit)
        return _RecordedOnce(self._tracer.start_as_current_span(
            name, context, kind, attributes, links, start_time, False,
            set_status_on_exception, end_on_exit))


class _RecordedOnce(AbstractContextManager[Span]):
    """The delegate's span context; an exception leaving it is recorded by tracekit's error
    convention (once, full stack) before the delegate sets the status and ends the span."""

    __slots__ = ("_manager", "_span")

    def __init__(self, manager: AbstractContextManager[Span]) -> None:
        self._manager = manager
        self._span: Span = trace.INVALID_SPAN

    def __enter__(self) -> Span:
        self._span = self._manager.__enter__()
        return self._span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if exc is not None:
            handle_client_error(exc, self._span)
        return self._manager.__exit__(exc_type, exc, tb)


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
