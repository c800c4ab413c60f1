"""Request/response -> OpenTelemetry HTTP semantic-convention attributes (server side).

Nothing here validates the Host header (``request.get_host()`` raises DisallowedHost) or
builds absolute URIs: attributes come from the raw WSGI/ASGI environ, so a rejected host or
a malformed request is still traced, never turned into an error by the tracing itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import LocalePrefixPattern, resolve

from django_tracekit.core import producers
from django_tracekit.core.redaction import REDACTED, is_secret_name, redact_query
from django_tracekit.sources.http.routes import readable_route

KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY")
)
_MAX_VALUE = 1024


def method_of(request: HttpRequest) -> str:
    """The semconv method: a known method, or ``_OTHER``."""
    method = (request.method or "").upper()
    return method if method in KNOWN_METHODS else "_OTHER"


def http_route(request: HttpRequest) -> str | None:
    """The semconv ``http.route`` of a resolved request (``/orders/<int:pk>/``), or None.

    Under ``i18n_patterns`` the language prefix the ``LocalePrefixPattern`` matched is left
    out: ``/en/orders/...`` and ``/de/orders/...`` are one route (one feature), whatever
    the language (``url.path`` keeps the real path). A regex route (``re_path``, DRF's
    routers) reads as a route: ``/api/v2/routine/<pk>/stats/`` (``http/routes.py``)."""
    match = getattr(request, "resolver_match", None)
    route = getattr(match, "route", None)
    if route is None:
        return None
    route = readable_route(str(route)).lstrip("/")
    tried = getattr(match, "tried", None)
    if tried:
        top = getattr(tried[-1][0], "pattern", None) if tried[-1] else None
        if isinstance(top, LocalePrefixPattern):
            prefix, slash, rest = route.partition("/")
            if slash and prefix.lower() in _language_codes():
                route = rest
    return "/" + route


def route_answered_early(request: HttpRequest) -> str | None:
    """The route of a request a middleware answered before URL resolution (a login
    redirect, a maintenance page), resolved here as Sentry's Django integration does; None
    when no route matches (a 404). Never raises."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Exception:  # Resolver404, or a urlconf the application could not load itself
        return None
    return http_route(SimpleNamespace(resolver_match=match))  # type: ignore[arg-type]


def _language_codes() -> frozenset[str]:
    return frozenset(code.lower() for code, _name in settings.LANGUAGES)


def _split_host(host: str, default_port: int) -> tuple[str, int]:
    if host.startswith("["):  # [::1]:8000
        address, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        address, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
    return address, int(port) if port.isdigit() else default_port


def request_attributes(request: HttpRequest) -> dict[str, Any]:
    meta = request.META
    scheme = "https" if request.is_secure() else "http"
    attributes: dict[str, Any] = {
        "http.request.method": method_of(request),
        "url.scheme": scheme,
        "url.path": request.path[:_MAX_VALUE],
    }
    if attributes["http.request.method"] == "_OTHER":
        attributes["http.request.method_original"] = (request.method or "")[:64]
    query = meta.get("QUERY_STRING")
    if query:
        attributes["url.query"] = redact_query(query)[:_MAX_VALUE]
    host = meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or ""
    if host:
        address, port = _split_host(str(host), 443 if scheme == "https" else 80)
        attributes["server.address"] = address[:255]
        attributes["server.port"] = port
    peer = meta.get("REMOTE_ADDR")
    if peer:
        attributes["network.peer.address"] = peer
        forwarded = meta.get("HTTP_X_FORWARDED_FOR")
        attributes["client.address"] = (forwarded.split(",")[0].strip() if forwarded else peer)
    agent = meta.get("HTTP_USER_AGENT")
    if agent:
        attributes["user_agent.original"] = agent[:_MAX_VALUE]
    protocol = meta.get("SERVER_PROTOCOL", "")
    if protocol.startswith("HTTP/"):
        attributes["network.protocol.version"] = protocol[5:]
    return attributes


class HeaderCapture:
    """Header capture by the OTel env conventions, with secrets redacted.

    ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST`` /
    ``..._SERVER_RESPONSE``: comma-separated header names (regexes allowed);
    ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS``: extra names to redact.
    Authorization, Cookie, Set-Cookie and password/token/secret-like names are always
    redacted.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        prefix = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"
        self.request = _patterns(env.get(prefix + "SERVER_REQUEST"))
        self.response = _patterns(env.get(prefix + "SERVER_RESPONSE"))
        self.sanitize = _patterns(env.get(prefix + "SANITIZE_FIELDS"))

    def _value(self, name: str, value: str) -> str:
        if is_secret_name(name) or (self.sanitize and self.sanitize.fullmatch(name)):
            return REDACTED
        return value[:_MAX_VALUE]

    def request_headers(self, request: HttpRequest) -> dict[str, list[str]]:
        if self.request is None:
            return {}
        captured = {}
        for name, value in _request_header_items(request.META):
            if self.request.fullmatch(name):
                captured[f"http.request.header.{name}"] = [self._value(name, str(value))]
        return captured

    def response_headers(self, response: HttpResponseBase) -> dict[str, list[str]]:
        if self.response is None:
            return {}
        captured: dict[str, list[str]] = {}
        for name, value in response.items():
            key = name.lower()
            if self.response.fullmatch(key):
                captured[f"http.response.header.{key}"] = [self._value(key, value)]
        if response.cookies and self.response.fullmatch("set-cookie"):
            # Cookies live apart from the other headers in Django; their values are secrets.
            captured["http.response.header.set-cookie"] = [REDACTED] * len(response.cookies)
        return captured


def _patterns(value: str | None) -> re.Pattern[str] | None:
    names = [n.strip().lower() for n in (value or "").split(",") if n.strip()]
    if not names:
        return None
    return re.compile("|".join(f"(?:{n})" for n in names), re.IGNORECASE)


def _request_header_items(meta: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            yield key[5:].lower().replace("_", "-"), value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            yield key.lower().replace("_", "-"), value


producers.name_routes_with(http_route)  # a Celery task published by a request names its route
