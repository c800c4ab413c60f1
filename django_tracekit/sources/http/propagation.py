"""W3C ``traceparent``/``tracestate``/``baggage`` from ``request.META``: capped, quietly.

The headers come from anyone on the internet. Each is read only up to a size cap; the
OpenTelemetry propagators' warnings about malformed values are quieted by
:mod:`django_tracekit.core.propagation_logs`.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.propagators.textmap import Getter

# W3C caps traceparent at 55 chars and tracestate at 512; beyond a few KiB it is abuse.
MAX_HEADER = 4096


class MetaGetter(Getter[dict[str, Any]]):
    """Reads propagation headers from ``request.META`` (``traceparent`` -> HTTP_TRACEPARENT)."""

    def get(self, carrier: dict[str, Any], key: str) -> list[str] | None:
        value = carrier.get("HTTP_" + key.upper().replace("-", "_"))
        if value is None or len(value) > MAX_HEADER:
            return None
        return [value]

    def keys(self, carrier: dict[str, Any]) -> list[str]:
        return [k[5:].lower().replace("_", "-") for k in carrier if k.startswith("HTTP_")]
