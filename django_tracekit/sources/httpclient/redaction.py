"""Secrets on the instrumentors' spans: the hooks tracekit gives every instrumentor.

The instrumentors already drop ``user:password@`` and a few signature parameters from the
URL. These hooks apply tracekit's one secret rule (:mod:`django_tracekit.core.redaction`) on
top: values of secret-named query parameters (``?token=``, ``api_key=``...) in ``url.full``
/ ``http.url``, and captured headers with secret names (``Authorization``, ``Cookie``,
``X-Api-Key``...; captured only when ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_*``
names them). URLs are capped at :data:`MAX_URL_LENGTH` characters. Request hooks run right
after the span starts, response hooks after the response headers are captured, both
before any processor sees the ended span.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Span

from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.redaction import REDACTED, is_secret_name, redact_url

URL_ATTRIBUTES = ("url.full", "http.url")
#: Characters of a URL kept on a span (a megabyte query string is the caller's bug, not
#: something every processor and exporter should carry).
MAX_URL_LENGTH = 8192
HEADER_PREFIXES = ("http.request.header.", "http.response.header.")
CAPTURE_REQUEST_ENV = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST"
CAPTURE_RESPONSE_ENV = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE"

_failed = LogOnce("redacting an outgoing HTTP span failed")


def _redact_url(span: Span, attributes: Mapping[str, Any]) -> None:
    for key in URL_ATTRIBUTES:
        value = attributes.get(key)
        # Only a query, userinfo or a huge URL has anything to hide or cut.
        if not isinstance(value, str) or not (
                "?" in value or "@" in value or len(value) > MAX_URL_LENGTH):
            continue
        redacted = redact_url(value)
        if len(redacted) > MAX_URL_LENGTH:
            redacted = redacted[:MAX_URL_LENGTH - 1] + "…"
        if redacted != value:
            span.set_attribute(key, redacted)


def _redact_headers(span: Span, attributes: Mapping[str, Any]) -> None:
    for key, value in list(attributes.items()):
        if key.startswith(HEADER_PREFIXES):
            name = key.split(".", 3)[3]
            if is_secret_name(name) and value != (REDACTED,):
                span.set_attribute(key, [REDACTED])


def redact_span(span: Span, *, url: bool = True, headers: bool = True) -> None:
    """Hide secrets in the span's URL and captured headers (an SDK span; others: nothing)."""
    if not span.is_recording():
        return
    attributes = getattr(span, "attributes", None)
    if not attributes:
        return
    if url:
        _redact_url(span, attributes)
    if headers:
        _redact_headers(span, attributes)


@dataclass(frozen=True)
class Hooks:
    """The hooks for the instrumentors, as keyword arguments of ``instrument()``. Header
    attributes exist only when ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_*`` names
    some: without it, the request hook looks at the URL alone and there is no response hook."""

    capture_request_headers: bool
    capture_response_headers: bool

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Hooks:
        return cls(bool(env.get(CAPTURE_REQUEST_ENV, "").strip()),
                   bool(env.get(CAPTURE_RESPONSE_ENV, "").strip()))

    def request_hook(self, span: Span, *args: Any, **kwargs: Any) -> None:
        try:
            redact_span(span, headers=self.capture_request_headers)
        except Exception:
            _failed.failed()

    def response_hook(self, span: Span, *args: Any, **kwargs: Any) -> None:
        try:
            redact_span(span, url=False)
        except Exception:
            _failed.failed()

    async def async_request_hook(self, span: Span, *args: Any, **kwargs: Any) -> None:
        self.request_hook(span)

    async def async_response_hook(self, span: Span, *args: Any, **kwargs: Any) -> None:
        self.response_hook(span)

    def kwargs(self) -> dict[str, Any]:
        """``request_hook``, ``response_hook`` and httpx's async twins."""
        hooks: dict[str, Any] = {"request_hook": self.request_hook,
                                 "async_request_hook": self.async_request_hook}
        if self.capture_response_headers:
            hooks.update(response_hook=self.response_hook,
                         async_response_hook=self.async_response_hook)
        return hooks
