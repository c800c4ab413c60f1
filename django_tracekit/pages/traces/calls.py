"""What a waterfall row says about a call to another process: the host an outgoing HTTP call
went to (a span the OpenTelemetry conventions name only "GET"), and a publish span whose
task run is not in the store (its part was not kept: the page says why, see
docs/trace_explorer.md). Display only: spans keep their names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from django_tracekit.pages.traces.waterfall import Row

_HOST_KEYS = ("server.address", "net.peer.name")  # current semconv first
_URL_KEYS = ("url.full", "http.url")
_HTTP_METHOD_KEYS = ("http.request.method", "http.method")


def http_host(kind: str, attributes: Mapping[str, str]) -> str:
    """The host an outgoing HTTP call (a CLIENT span with an HTTP method) went to: its
    ``server.address``, else the host of its URL (never the path or query: display only)."""
    if kind != "client" or not any(k in attributes for k in _HTTP_METHOD_KEYS):
        return ""
    for key in _HOST_KEYS:
        if attributes.get(key):
            return attributes[key]
    for key in _URL_KEYS:
        if attributes.get(key):
            try:
                return urlsplit(attributes[key]).hostname or ""
            except ValueError:
                return ""
    return ""


def mark_unconsumed(rows: Sequence[Row]) -> None:
    """Publish spans under which no task run (a CONSUMER span) is in the store."""
    consumed = {r.span.parent_span_id for r in rows if r.span.kind == "consumer"}
    for row in rows:
        if row.fold is None and row.span.kind == "producer":
            row.unconsumed = row.span.span_id not in consumed
