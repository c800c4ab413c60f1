"""W3C ``traceparent``/``tracestate``/``baggage`` from ``request.META``: capped, quietly.

The headers come from anyone on the internet. Each is read only up to a size cap, and the
OpenTelemetry propagators' warnings about malformed values (one line per bad baggage
entry or tracestate pair: 181 lines for one 4 KiB header) become one line per header kind
a minute in each process, with the count of the lines held back and the bad value cut short.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.propagators.textmap import Getter

from django_tracekit.core.logonce import RateLimitFilter, add_filters

# W3C caps traceparent at 55 chars and tracestate at 512; beyond a few KiB it is abuse.
MAX_HEADER = 4096
# The loggers of the W3C propagators (trace context, its tracestate parser, baggage).
PROPAGATION_LOGGERS = {
    "opentelemetry.trace.propagation.tracecontext": "traceparent/tracestate",
    "opentelemetry.trace.span": "tracestate",
    "opentelemetry.baggage.propagation": "baggage",
}
_QUOTED = 120  # characters of the propagator's own message kept (it may quote the header)


class MetaGetter(Getter[dict[str, Any]]):
    """Reads propagation headers from ``request.META`` (``traceparent`` -> HTTP_TRACEPARENT)."""

    def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        if value is None or len(value) > MAX_HEADER:
            return None
        return [value]

    def keys(self, carrier: dict[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]


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
