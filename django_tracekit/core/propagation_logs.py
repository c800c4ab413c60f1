"""The W3C propagators' warnings, quiet: one line per header kind a minute in each process.

The headers come from anyone (an HTTP request's ``traceparent``, a Celery task's headers).
The OpenTelemetry propagators log one line per malformed baggage entry or tracestate pair
(181 lines for one 4 KiB header); here each becomes one message text per header kind,
rate-limited, with the count of the lines held back and the bad value cut short. Used by
every source that extracts a context.
"""

from __future__ import annotations

import logging
from typing import Any

from django_tracekit.core.logonce import RateLimitFilter, add_filters

# The loggers of the W3C propagators (trace context, its tracestate parser, baggage).
PROPAGATION_LOGGERS = {
    "opentelemetry.trace.propagation.tracecontext": "traceparent/tracestate",
    "opentelemetry.trace.span": "tracestate",
    "opentelemetry.baggage.propagation": "baggage",
}
_QUOTED = 120  # characters of the propagator's own message kept (it may quote the header)


class _Quoted:
    """The propagator's own message, rendered (and cut short) only if the line is written."""

    def __init__(self, msg: object, args: Any) -> None:
        self.msg, self.args = msg, args

    def __str__(self) -> str:
        text = str(self.msg) % self.args if self.args else str(self.msg)
        return text if len(text) <= _QUOTED else text[:_QUOTED] + "…"


class _OneMessage(logging.Filter):
    """Gives every warning of a propagator logger one message text, so that the rate limit
    (keyed by logger and message) lets one line a minute through, whatever the entry."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = (PROPAGATION_LOGGERS.get(record.name, record.name),
                       _Quoted(record.msg, record.args))
        record.msg = "tracekit: ignored a malformed %s header from a client (%s)"
        return True


_one_message = _OneMessage()
_rate_limit = RateLimitFilter()


def limit_propagation_logs() -> None:
    """Rewrite and rate-limit the propagators' warnings (idempotent)."""
    # Order matters: the text is made constant before the rate limit keys on it.
    add_filters(PROPAGATION_LOGGERS, _one_message, _rate_limit)
