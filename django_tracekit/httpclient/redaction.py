"""Secrets on the instrumentors' spans: the hooks tracekit gives every instrumentor.

The instrumentors already drop ``user:password@`` and a few signature parameters from the
URL. These hooks apply tracekit's one secret rule (:mod:`django_tracekit.redaction`) on
top: values of secret-named query parameters (``?token=``, ``api_key=``...) in ``url.full``
/ ``http.url``, and captured headers with secret names (``Authorization``, ``Cookie``,
``X-Api-Key``...; captured only when ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_*``
names them). URLs are capped at :data:`MAX_URL_LENGTH` characters. Request hooks run right
after the span starts, response hooks after the response headers are captured, both
before any processor sees the ended span.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span

from django_tracekit.logonce import LogOnce
from django_tracekit.redaction import REDACTED, is_secret_name, redact_url

URL_ATTRIBUTES = ("url.full", "http.url")
#: Characters of a URL kept on a span (a megabyte query string is the caller's bug, not
#: something every processor and exporter should carry).
MAX_URL_LENGTH = 8192
HEADER_PREFIXES = ("http.request.header.", "http.response.header.")

_failed = LogOnce("redacting an outgoing HTTP span failed")


def redact_span(span: Span) -> None:
    """Hide secrets in the span's URL and captured headers (an SDK span; others: nothing)."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None)
    if not attributes:
        return
    for key, value in list(attributes.items()):
        if key in URL_ATTRIBUTES and isinstance(value, str):
            redacted = redact_url(value)
            if len(redacted) > MAX_URL_LENGTH:
                redacted = redacted[:MAX_URL_LENGTH - 1] + "…"
            if redacted != value:
                span.set_attribute(key, redacted)
        elif key.startswith(HEADER_PREFIXES):
            name = key.split(".", 3)[3]
            if is_secret_name(name) and value != (REDACTED,):
                span.set_attribute(key, [REDACTED])


def hook(span: Span, *args: Any, **kwargs: Any) -> None:
    """request_hook / response_hook of every instrumentor (their arguments differ)."""
    try:
        redact_span(span)
    except Exception:
        _failed.failed()


async def async_hook(span: Span, *args: Any, **kwargs: Any) -> None:
    """httpx's async_request_hook / async_response_hook."""
    hook(span)
