"""Finished spans -> ``TraceSpan`` rows, in the flusher thread (never on the request path):
secrets redacted by the one rule (:mod:`django_tracekit.core.redaction`: secret-named keys
hidden, ``key=value`` / JSON pairs inside text hidden), every text made storable
(:func:`django_tracekit.storage.writer.clean_text`: no NUL, no lone surrogate), sizes
capped.

Caps (per span):

- an attribute value: :data:`VALUE_CHARS` characters (``exception.stacktrace``:
  :data:`STACK_CHARS`, the stack being the point of keeping an error trace); a list value:
  its first :data:`LIST_ITEMS` items;
- :data:`MAX_ATTRIBUTES` attributes; their JSON at most :data:`ATTRIBUTES_CHARS`;
- :data:`MAX_EVENTS` events; their JSON at most :data:`EVENTS_CHARS` (``exception`` events
  first: a flood of log events cannot push the stack out); what is left out is counted in
  the attribute ``tracekit.dropped.attributes`` / ``tracekit.dropped.events``;
- name 255, service 128, status message 4,096 characters.

JSON is ASCII (``ensure_ascii``): storable in any column charset (MySQL ``utf8`` too), and
its size in characters is its size in bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from django_tracekit.core import clock as real_clock
from django_tracekit.core.redaction import REDACTED, is_secret_name, redact_text
from django_tracekit.destinations.traces import incidents
from django_tracekit.destinations.traces.records import SpanRow
from django_tracekit.storage.writer import clean_text

VALUE_CHARS = 4_096
STACK_CHARS = 32_768
LIST_ITEMS = 32
MAX_ATTRIBUTES = 128
ATTRIBUTES_CHARS = 32_000
MAX_EVENTS = 128
EVENTS_CHARS = 60_000
NAME_CHARS, SERVICE_CHARS, MESSAGE_CHARS = 255, 128, 4_096
STACK_KEY = "exception.stacktrace"
DROPPED_ATTRIBUTES = "tracekit.dropped.attributes"
DROPPED_EVENTS = "tracekit.dropped.events"


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _value(key: str, value: Any) -> Any:
    if is_secret_name(key):
        return REDACTED
    return _clean_value(value, STACK_CHARS if key == STACK_KEY else VALUE_CHARS)


def _clean_value(value: Any, chars: int) -> Any:
    if isinstance(value, str):
        # Redact before capping: a cut could leave a secret's tail without its key.
        return clean_text(redact_text(value[:chars * 2]), chars)
    if isinstance(value, int):  # bool too
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_clean_value(v, VALUE_CHARS) for v in value[:LIST_ITEMS]]
    return clean_text(redact_text(str(value)[:chars]), chars)


def _encode(data: Any) -> str:
    return json.dumps(data, ensure_ascii=True, separators=(",", ":"))


def attributes_json(attributes: Mapping[str, Any] | None, extra: Mapping[str, int] | None = None,
                    budget: int = ATTRIBUTES_CHARS, dropped: int = 0) -> tuple[str, int]:
    """The redacted, capped attributes as JSON ("" when none), and how many were left out
    (``dropped``: already, by the SDK's limits)."""
    if not attributes and not extra and not dropped:
        return "", dropped
    out: dict[str, Any] = {}
    used = 2
    for key, value in (attributes or {}).items():
        if len(out) >= MAX_ATTRIBUTES:
            dropped += 1
            continue
        key = clean_text(str(key), 255)
        cleaned = _value(key, value)
        size = len(_encode(key)) + len(_encode(cleaned)) + 2
        if used + size > budget:
            dropped += 1
            continue
        out[key] = cleaned
        used += size
    out.update(extra or {})
    if dropped:
        out[DROPPED_ATTRIBUTES] = dropped
    return (_encode(out) if out else ""), dropped


def events_json(span: ReadableSpan, shift_ns: int = 0) -> tuple[str, int]:
    """The span's events as JSON ``[{name, time_us, attributes}]`` ("" when none), and how
    many were left out (exception events are given the budget first)."""
    events = span.events
    if not events:
        return "", 0
    encoded: dict[int, dict[str, Any]] = {}
    used = 2
    order = sorted(range(len(events)), key=lambda i: events[i].name != "exception")
    for index in order:
        if len(encoded) >= MAX_EVENTS:
            break
        event = events[index]
        attrs, _ = attributes_json(event.attributes, budget=EVENTS_CHARS)
        item = {"name": clean_text(str(event.name), NAME_CHARS),
                "time_us": (int(event.timestamp or 0) + shift_ns) // 1000,
                "attributes": json.loads(attrs) if attrs else {}}
        size = len(_encode(item)) + 1
        if used + size > EVENTS_CHARS:
            continue
        encoded[index] = item
        used += size
    kept = [encoded[i] for i in sorted(encoded)]
    return (_encode(kept) if kept else ""), len(events) - len(kept)


def span_row(span: ReadableSpan, service: str, handled: bool = False) -> SpanRow:
    """``handled``: an error span whose exception the application handled (stored with its
    exception event, not as an error: :mod:`.incidents`)."""
    context = span.context
    parent = span.parent
    start = int(span.start_time or 0)
    end = int(span.end_time or start)
    shift = real_clock.correction_ns(end)  # timed by a frozen clock: moved to end now
    start, end = start + shift, end + shift
    status = span.status
    events, dropped_events = events_json(span, shift)
    # What the SDK's span limits dropped already (128 attributes, 128 events) counts too.
    dropped_events += int(getattr(span, "dropped_events", 0) or 0)
    attributes, _ = attributes_json(
        span.attributes, {DROPPED_EVENTS: dropped_events} if dropped_events else {},
        dropped=int(getattr(span, "dropped_attributes", 0) or 0))
    return SpanRow(
        span_id=hex_id(context.span_id, 16) if context is not None else "",
        parent_span_id=hex_id(parent.span_id, 16) if parent is not None else "",
        name=clean_text(span.name, NAME_CHARS),
        kind=span.kind.name.lower()[:8],
        service=clean_text(service, SERVICE_CHARS),
        start_us=start // 1000,
        duration_us=max(0, end - start) // 1000,
        is_error=status.status_code is StatusCode.ERROR and not handled,
        status_message=clean_text(redact_text(status.description or ""), MESSAGE_CHARS),
        attributes=attributes,
        events=events,
    )


def service_of(span: ReadableSpan) -> str:
    return str(span.resource.attributes.get("service.name", "unknown_service"))


def rows(spans: Sequence[ReadableSpan]) -> list[SpanRow]:
    handled = incidents.handled(spans)
    return [span_row(span, service_of(span),
                     bool(handled) and span.context is not None
                     and span.context.span_id in handled) for span in spans]
