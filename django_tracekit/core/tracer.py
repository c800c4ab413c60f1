"""The one tracer tracekit's spans come from; set by the bootstrap, a proxy until then."""

from __future__ import annotations

from opentelemetry import trace

INSTRUMENTATION_NAME = "django_tracekit"

_tracer: trace.Tracer = trace.get_tracer(INSTRUMENTATION_NAME)


def get_tracer() -> trace.Tracer:
    return _tracer


def set_tracer(tracer: trace.Tracer) -> None:
    global _tracer
    _tracer = tracer
