"""Which feature a span stands for, decided in one place for the stats, Sentry and the
coming trace store: requests (SERVER spans: the route), tasks (CONSUMER spans, and
tracekit's spans of a Celery task) and functions (tracekit's own INTERNAL spans: ``span()``,
``@traced``, auto-tracing, view spans). Other spans (a library's CLIENT or INTERNAL spans)
stand for no feature."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from django_tracekit.tracer import INSTRUMENTATION_NAME

REQUEST, TASK, FUNCTION = "request", "task", "function"
KINDS = (REQUEST, TASK, FUNCTION)

_SERVER, _CONSUMER, _INTERNAL = SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL


def feature_kind(kind: SpanKind | None, scope_name: str | None,
                 attributes: Mapping[str, Any] | None) -> str | None:
    """``request``, ``task``, ``function``, or ``None`` for a span that names no feature."""
    if kind is _INTERNAL:
        if scope_name != INSTRUMENTATION_NAME:
            return None
        if attributes is not None and attributes.get("messaging.system") == "celery":
            return TASK
        return FUNCTION
    if kind is _SERVER:
        return REQUEST
    if kind is _CONSUMER:
        return TASK
    return None
