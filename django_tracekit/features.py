"""Which feature a span stands for, decided in one place for the stats, Sentry and the
trace store: requests (SERVER spans: the route), tasks (CONSUMER spans, and tracekit's
spans of a Celery task), commands (tracekit's root span of a ``manage.py`` command, marked
with :data:`FEATURE_KIND`) and functions (tracekit's own INTERNAL spans: ``span()``,
``@traced``, auto-tracing, view spans). Other spans (SQL, cache and HTTP-client CLIENT
spans, a library's INTERNAL spans) stand for no feature."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import SpanKind

from django_tracekit.tracer import INSTRUMENTATION_NAME

REQUEST, TASK, COMMAND, FUNCTION = "request", "task", "command", "function"
KINDS = (REQUEST, TASK, COMMAND, FUNCTION)
#: Attribute a tracekit INTERNAL span carries when it stands for an entry point other than
#: a function (``"command"``): the integration that makes the span decides, not its name.
FEATURE_KIND = "tracekit.feature.kind"

_SERVER, _CONSUMER, _INTERNAL = SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL

#: Appended to a request's method when no route matched (404s, requests answered by a
#: middleware before URL resolution): one clear feature. The span keeps the semconv name.
UNMATCHED = " (unmatched)"


def feature_kind(kind: SpanKind | None, scope_name: str | None,
                 attributes: Mapping[str, Any] | None) -> str | None:
    """``request``, ``task``, ``function``, or ``None`` for a span that names no feature."""
    if kind is _INTERNAL:
        if scope_name != INSTRUMENTATION_NAME:
            return None
        if attributes is not None:
            if attributes.get("messaging.system") == "celery":
                return TASK
            if attributes.get(FEATURE_KIND) == COMMAND:
                return COMMAND
        return FUNCTION
    if kind is _SERVER:
        return REQUEST
    if kind is _CONSUMER:
        return TASK
    return None


def feature_name(name: str, kind: str | None, attributes: Mapping[str, Any] | None) -> str:
    """The feature a span of ``kind`` (:func:`feature_kind`) stands for: its name, except a
    request no route matched, whose span is named just ``GET`` (HTTP semconv)."""
    if (kind == REQUEST and attributes and "http.route" not in attributes
            and "http.request.method" in attributes and " " not in name):
        return name + UNMATCHED
    return name


def span_name(feature: str) -> str:
    """The span name a feature's spans carry (the inverse of :func:`feature_name`)."""
    return feature.removesuffix(UNMATCHED)
