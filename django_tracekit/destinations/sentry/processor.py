"""The event processor every event of the client passes through: drop SDK duplicates of
errors tracekit forwarded, adopt (link, tag, full stack) the ones an SDK integration saw first.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace

from django_tracekit.core import errors
from django_tracekit.destinations.sentry import events, markers, scrub, state

logger = logging.getLogger("django_tracekit")


def process_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    settings = state.current
    if settings is None:  # installed in this process but forwarding is off
        return event
    try:
        import sentry_sdk

        scrub.wrap_before_send(sentry_sdk.get_client())  # the app may have re-initialised
    except Exception:
        logger.debug("tracekit: could not wrap before_send", exc_info=True)
    if hint.get(events.HINT_KEY) or event.get("type") == "transaction":
        return event
    exc_info = hint.get("exc_info")
    exc = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) == 3 else None
    if not isinstance(exc, BaseException):
        return event
    if markers.forwarded(exc) is not None:
        return None  # tracekit (or an earlier SDK event) already reported this exception
    # First reporter: an SDK integration saw the error before tracekit recorded it (the
    # Celery integration wraps task.run). Report it with tracekit's context and make sure
    # tracekit does not send a second event when the error reaches its span.
    try:
        span = trace.get_current_span()
        context = span.get_span_context()
        if context.is_valid:
            import sentry_sdk

            site = exc.__traceback__.tb_frame if exc.__traceback__ is not None else None
            events.enrich(event, exc, span, events.span_kind(span, None),
                          errors.callers_start(exc, site), sentry_sdk.get_client().options,
                          settings)
            trace_context = event.setdefault("contexts", {}).setdefault("trace", {})
            trace_context["trace_id"] = format(context.trace_id, "032x")
            trace_context["span_id"] = format(context.span_id, "016x")
    except Exception:
        logger.debug("tracekit: could not enrich a Sentry event", exc_info=True)
    markers.mark_forwarded(exc, str(event.get("event_id") or "sdk"))
    return event
