"""Which error spans of a trace part are incidents, and which hold an exception the
application handled.

A span gets ERROR status when an exception escapes it (OpenTelemetry's convention, kept in
what is exported); whether that was an error is known only later: its caller may handle it
(a validator loop catching ``ValidationError``, a request answering 200). An **incident** is an
entry point that failed (the local root, a request, a task run), or a span where an error
was recorded explicitly or reported (``tracekit.error.incident``: ``record_error``,
``logger.exception``). The spans an incident's exception passed through (its raising span,
its carriers: ``tracekit.error.span_id``; every incident recorded on a span is listed in its
``tracekit.error.incident_span_ids``) belong to it; any other error span held a handled
exception: stored with its exception event, not as an error (the trace is not an error trace,
its lists and counts do not count it).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from django_tracekit.core.errors import ERROR_SPAN_ID, INCIDENT, INCIDENT_SPAN_IDS
from django_tracekit.core.features import COMMAND, REQUEST, TASK, feature_kind

_ENTRY_KINDS = (REQUEST, TASK, COMMAND)
_ENTRY_SPAN_KINDS = (SpanKind.SERVER, SpanKind.CONSUMER)


def is_incident(span: ReadableSpan) -> bool:
    """An error span that is an incident by itself: an entry point that failed, or the span
    an error was recorded (reported) on."""
    if span.status.status_code is not StatusCode.ERROR:
        return False
    attributes = span.attributes or {}
    if attributes.get(INCIDENT):
        return True
    parent = span.parent
    if parent is None or parent.is_remote or span.kind in _ENTRY_SPAN_KINDS:
        return True
    scope = span.instrumentation_scope
    return feature_kind(span.kind, scope.name if scope is not None else None,
                        attributes) in _ENTRY_KINDS


def handled(spans: Sequence[ReadableSpan]) -> set[int]:
    """The span ids of the error spans whose exception was handled (no incident holds it)."""
    errors = [s for s in spans if s.status.status_code is StatusCode.ERROR
              and s.context is not None]
    if not errors:
        return set()
    incident_ids: set[str] = set()
    for span in errors:
        if is_incident(span):
            incident_ids.add(format(span.context.span_id, "016x"))
            attributes = span.attributes or {}
            ref = attributes.get(ERROR_SPAN_ID)
            if ref:
                incident_ids.add(str(ref))
            listed = attributes.get(INCIDENT_SPAN_IDS)
            if isinstance(listed, (tuple, list)):
                incident_ids.update(str(i) for i in listed)
    found: set[int] = set()
    for span in errors:
        span_id = span.context.span_id
        ref = (span.attributes or {}).get(ERROR_SPAN_ID)
        if format(span_id, "016x") not in incident_ids and str(ref or "") not in incident_ids:
            found.add(span_id)
    return found
