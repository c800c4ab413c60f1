"""OpenTelemetry's runtime context as the sources read it, under auto-tracing's hook or not.

Auto-tracing wraps the private ``opentelemetry.context._RUNTIME_CONTEXT`` (there is no public
seam to observe ``attach``/``get_current``; docs/PRIVATE_SEAMS.md) in a :class:`WrappedRuntime`
so pending auto-traced calls become real parents. The SQL, log and formatting code need the
context *without* that: :func:`real_runtime` and :func:`existing_span`.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from django_tracekit.core.chain import PREV, ROOT, SPAN
from django_tracekit.core.chain import top as _get_top

RUNTIME_ATTRIBUTE = "_RUNTIME_CONTEXT"


class WrappedRuntime:
    """A runtime context installed over OpenTelemetry's own (``real``)."""

    real: Any


def real_runtime() -> Any:
    """OpenTelemetry's own runtime context (under auto-tracing's hook, if installed)."""
    runtime: Any = getattr(otel_context, RUNTIME_ATTRIBUTE)
    return runtime.real if isinstance(runtime, WrappedRuntime) else runtime


def existing_span() -> trace.Span:
    """The current span without making spans of pending auto-traced calls: the innermost
    call that is a span already, else the attached context's span. For readers that must
    not turn a short call into a kept span (the ids on a log record below LOGS.LEVEL)."""
    runtime: Any = getattr(otel_context, RUNTIME_ATTRIBUTE, None)
    if runtime is None:  # an OpenTelemetry without the seam: no auto-trace spans either
        return trace.get_current_span()
    if isinstance(runtime, WrappedRuntime):
        runtime = runtime.real
    current: Context = runtime.get_current()
    node = _get_top()
    if node.__class__ is list and node[ROOT].ctx is current:
        while node.__class__ is list:
            if node[SPAN] is not None:
                return node[SPAN]  # type: ignore[no-any-return]
            node = node[PREV]
    return trace.get_current_span(current)
