"""The hooks tracekit adds to the Sentry SDK, as a Sentry ``Integration`` (``setup_once``).

- the event processor (``processor.process_event``): first reporter wins, adoption;
- the repr processor (``scrub.repr_request``): requests in frame variables as method + path;
- the trace link for every event: like the SDK's ``OTLPIntegration``, the current OTel span
  is registered as Sentry's external propagation context;
- the error listener (``events.forward``): every error tracekit records becomes one event.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from sentry_sdk.integrations import Integration

from django_tracekit.core import errors, lifecycle
from django_tracekit.destinations.sentry import events, processor, scrub

logger = logging.getLogger("django_tracekit")

# The SDK calls setup_once once per process; the fallback (sentry.client) may too.
_once = lifecycle.Once()


class TracekitIntegration(Integration):
    identifier = "django_tracekit"

    @staticmethod
    def setup_once() -> None:
        if not _once.claim():
            return
        from sentry_sdk import scope as sentry_scope
        from sentry_sdk import serializer

        sentry_scope.add_global_event_processor(processor.process_event)  # type: ignore[arg-type]
        # Undocumented (the SDK's Django integration uses it): guarded, skipped when absent;
        # before_send still redacts query strings inside a request's repr then.
        add_repr = getattr(serializer, "add_global_repr_processor", None)
        if add_repr is not None:
            add_repr(scrub.repr_request)
        # Undocumented (Sentry's OTLPIntegration uses it): guarded, skipped when absent.
        register = getattr(sentry_scope, "register_external_propagation_context", None)
        has = getattr(sentry_scope, "has_external_propagation_context", None)
        if register is not None and has is not None and not has():
            register(otel_trace_context)
        if events.forward not in errors.error_listeners:
            errors.error_listeners.append(events.forward)


def setup_for_existing_client() -> None:
    """Set the integration up when the application initialised Sentry itself (an active
    client cannot take a new integration): the SDK's own once-per-process installer."""
    try:
        from sentry_sdk.integrations import setup_integrations

        setup_integrations([TracekitIntegration()], with_defaults=False)
    except Exception:  # an undocumented function: set up directly if it moved or changed
        logger.debug("tracekit: sentry_sdk setup_integrations failed", exc_info=True)
    TracekitIntegration.setup_once()  # no-op when the SDK just ran it


def otel_trace_context() -> tuple[str, str] | None:
    """The current OTel span's ids (what Sentry's OTLPIntegration registers, too)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")
