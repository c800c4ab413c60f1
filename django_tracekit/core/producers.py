"""Which entry point is running here: the feature that enqueues a task (producer → task).

The stats processor calls :func:`entered` when a span starts; a *local root* that stands
for an entry point (a request's SERVER span, a task's CONSUMER span in the worker, a
command's span) is remembered in a ``ContextVar``, so it is seen by everything that runs
under it (threads started with a copied context and asyncio tasks included), and only
there. :func:`current` gives its feature ``(kind, service, name)`` while it runs, for the
Celery publish handler to put on the message (:data:`HEADER`); the worker copies it onto
the task's span (:data:`FEATURE`, :data:`KIND`, :data:`SERVICE`), and the stats processor
counts one edge per (producer, task) from there (:mod:`django_tracekit.destinations.stats.edges`).

A request's route is known before its span is renamed (at the response): it is resolved
from ``url.path`` the way Django resolved it, so the producer is ``POST /videos/upload/``
already while the view runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from django_tracekit.core.features import (
    COMMAND,
    FEATURE_KIND,
    REQUEST,
    TASK,
    UNMATCHED,
    feature_kind,
)

logger = logging.getLogger("django_tracekit")

HEADER = "tracekit_producer"  # message header: JSON [kind, service, feature]
FEATURE = "tracekit.producer.feature"  # on the consumer span
KIND = "tracekit.producer.kind"
SERVICE = "tracekit.producer.service"
MAX_LENGTH = 255

_INTERNAL = SpanKind.INTERNAL
_entry: ContextVar[ReadableSpan | None] = ContextVar("tracekit_entry", default=None)


def entered(span: Any) -> None:
    """A span started: remember it if it is an entry point's local root (hot path: two
    attribute reads for every other span)."""
    parent = span.parent
    if parent is not None and not parent.is_remote:
        return
    kind = span.kind
    if kind is _INTERNAL:
        attributes = span.attributes
        if not attributes or attributes.get(FEATURE_KIND) != COMMAND:
            return
    elif kind is not SpanKind.SERVER and kind is not SpanKind.CONSUMER:
        return
    _entry.set(span)


# The HTTP server source's ``http_route`` (it registers itself when it loads): the core
# names a request's route without importing a source.
_route_of_request: Callable[[Any], str | None] | None = None


def name_routes_with(route_of: Callable[[Any], str | None]) -> None:
    global _route_of_request
    _route_of_request = route_of


def _route_name(span: ReadableSpan) -> str:
    """``GET /orders/<int:pk>/`` for a request span that is not renamed yet."""
    name = span.name
    if " " in name:  # already renamed with its route
        return name
    attributes = span.attributes or {}
    path = attributes.get("url.path")
    if not isinstance(path, str):
        return name + UNMATCHED
    from django.urls import Resolver404, get_script_prefix, resolve

    http_route = _route_of_request
    if http_route is None:  # the HTTP server source is not loaded: no request spans
        return name + UNMATCHED
    prefix = get_script_prefix()
    if prefix != "/" and path.startswith(prefix):
        path = "/" + path[len(prefix):]
    try:
        match = resolve(path)
    except Resolver404:
        return name + UNMATCHED
    route = http_route(SimpleNamespace(resolver_match=match))
    return f"{name} {route}" if route else name + UNMATCHED


def current() -> tuple[str, str, str] | None:
    """(kind, service, feature) of the entry point running in this context, or None
    (outside one, or in another trace than the current span's)."""
    span = _entry.get()
    if span is None or span.end_time is not None:
        return None
    here = trace.get_current_span().get_span_context()
    if not here.is_valid or span.context is None or here.trace_id != span.context.trace_id:
        return None
    scope = span.instrumentation_scope
    kind = feature_kind(span.kind, scope.name if scope is not None else None, span.attributes)
    if kind is None:
        return None
    name = _route_name(span) if kind == REQUEST else span.name
    service = str(span.resource.attributes.get("service.name", "unknown_service"))
    return kind, service[:128], name[:MAX_LENGTH]


def encode(producer: tuple[str, str, str]) -> str:
    return json.dumps(list(producer))


def decode(value: Any) -> tuple[str, str, str] | None:
    """The header's value, or None when it is not one (never raises)."""
    try:
        kind, service, name = json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError):
        return None
    if kind not in (REQUEST, TASK, COMMAND) or not all(
            isinstance(v, str) and v for v in (service, name)):
        return None
    return kind, service[:128], name[:MAX_LENGTH]


def attributes(producer: tuple[str, str, str]) -> dict[str, str]:
    kind, service, name = producer
    return {KIND: kind, SERVICE: service, FEATURE: name}


def from_attributes(attrs: Any) -> tuple[str, str, str] | None:
    if not attrs:
        return None
    name = attrs.get(FEATURE)
    if not name:
        return None
    return str(attrs.get(KIND) or ""), str(attrs.get(SERVICE) or ""), str(name)
