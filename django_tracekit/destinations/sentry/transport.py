"""Sentry's own HTTP requests are never spans.

The SDK's transport POSTs envelopes with urllib3 from its background thread. With outgoing
HTTP traced (tracekit's ``http_client`` integration, or an application that instrumented
urllib3 itself without tracekit's in-trace rule) each send would become a span, and a
failing send an error trace. Every send runs with OpenTelemetry's suppress-instrumentation
context key set, as the SDK's batch span processor does for exporters.

No public seam: the transport's ``_send_request`` (every sync and async HTTP transport of
sentry-sdk 2.x has it) is wrapped on the client's transport instance; without it, one
debug line and Sentry's sends may show up as spans (docs/PRIVATE_SEAMS.md).
"""

from __future__ import annotations

import functools
import inspect
import logging
from typing import Any

from opentelemetry import context as otel_context

from django_tracekit.core.vocabulary import SUPPRESS_KEY as SUPPRESS_INSTRUMENTATION_KEY

logger = logging.getLogger("django_tracekit")

_MARKER = "_tracekit_untraced"


def untraced_sends(client: Any) -> bool:
    """Make ``client``'s transport send with instrumentation suppressed (idempotent)."""
    transport = getattr(client, "transport", None)
    if transport is None:  # no DSN: nothing is sent
        return False
    send = getattr(transport, "_send_request", None)
    if not callable(send):
        logger.debug("tracekit: Sentry transport %s has no _send_request; its sends may be "
                     "traced", type(transport).__name__)
        return False
    if getattr(send, _MARKER, False):
        return True
    wrapped: Any
    if inspect.iscoroutinefunction(send):
        @functools.wraps(send)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = otel_context.attach(
                otel_context.set_value(SUPPRESS_INSTRUMENTATION_KEY, True))
            try:
                return await send(*args, **kwargs)
            finally:
                otel_context.detach(token)
    else:
        @functools.wraps(send)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = otel_context.attach(
                otel_context.set_value(SUPPRESS_INSTRUMENTATION_KEY, True))
            try:
                return send(*args, **kwargs)
            finally:
                otel_context.detach(token)
    setattr(wrapped, _MARKER, True)
    transport._send_request = wrapped
    return True
