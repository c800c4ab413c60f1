"""One error's sample (type, message, stack, where its trace is) for the recent-errors list."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan

from django_tracekit.core.errors import ERROR_SPAN_ID
from django_tracekit.core.fingerprint import message_without_type
from django_tracekit.destinations.stats.records import ErrorSample, Key


def error_sample(span: ReadableSpan, key: Key, end: int) -> ErrorSample:
    """The sample of ``span``'s error, counted under ``key``, ended at ``end`` (ns)."""
    attributes = span.attributes or {}
    event = next((e for e in span.events if e.name == "exception"), None)
    event_attributes = (event.attributes or {}) if event is not None else {}
    status = span.status
    error_type = str(event_attributes.get("exception.type")
                     or attributes.get("error.type") or "error")
    message = str(event_attributes.get("exception.message") or "") if event is not None \
        else message_without_type(str(status.description or ""), error_type)
    context = span.context
    return ErrorSample(
        feature=key[0], kind=key[1], service=key[2], time_ns=end, type=error_type[:255],
        message=message[:4096],
        stacktrace=str(event_attributes.get("exception.stacktrace") or ""),
        trace_id=format(context.trace_id, "032x") if context is not None else "",
        span_id=format(context.span_id, "016x") if context is not None else "",
        stack_span_id=str(attributes.get(ERROR_SPAN_ID) or ""),
    )
