"""What a buffered span costs the trace store's buffer, estimated on the hot path (its
bound in bytes), and whether a client span is a database call (a part with an outgoing
non-database call can be joined by another process). Used by :mod:`.processor`."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from django_tracekit.core.sdk_attributes import readable
from django_tracekit.core.vocabulary import N_PLUS_ONE_EVENT

SPAN_COST = 400  # bytes estimated for a span besides its attributes
ATTRIBUTE_COST = 64
_LONG_KEYS = ("db.query.text", "url.full", "db.statement")  # the likeliest first
_LONG_EVENT_KEYS = ("exception.stacktrace", "exception.message", "log.message", "db.query.text")
_DB_KEYS = ("db.system.name", "db.system")  # current semconv first
CLIENT = SpanKind.CLIENT


def estimate(span: ReadableSpan, kind: SpanKind) -> tuple[int, bool]:
    """Bytes a buffered span holds, roughly: a fixed cost, a share per attribute, and the
    texts that can be long (a SQL statement, a stack); and whether it has an N+1 event
    (read in the same pass over its events). Reading every attribute value costs about
    0.5 µs each through the SDK's mapping: only the long ones are read."""
    attributes = readable(span)
    size = SPAN_COST + ATTRIBUTE_COST * len(attributes or ())
    if kind is CLIENT and attributes:
        for key in _LONG_KEYS:  # one of them at most; a miss costs a KeyError in the SDK
            value = attributes.get(key)
            if type(value) is str:
                size += len(value)
                break
    # The SDK's ``events`` copies them into a new tuple on every read: read its list
    # directly when it is there (docs/PRIVATE_SEAMS.md), else the public property.
    events = getattr(span, "_events", None)
    if events is None:
        events = span.events
    n_plus_one = False
    for event in events:
        event_attributes = event.attributes
        if event_attributes:
            if event.name == N_PLUS_ONE_EVENT:
                n_plus_one = True
            size += ATTRIBUTE_COST * (1 + len(event_attributes))
            for key in _LONG_EVENT_KEYS:
                value = event_attributes.get(key)
                if type(value) is str:
                    size += len(value)
        else:
            size += ATTRIBUTE_COST
    return size, n_plus_one


def is_db(span: ReadableSpan) -> bool:
    attributes = readable(span)
    if attributes:
        for key in _DB_KEYS:  # a loop, not any(<genexpr>): two Python calls less per span
            if key in attributes:
                return True
    return False
