"""Where a trace id can be opened, for places outside the admin (a Sentry event): the trace
explorer's page, and the team's trace backend when ``TRACE_URL`` is set.

The admin's page is absolute when the span that recorded the error carries its request's
scheme and host (``url.scheme``, ``server.address``, ``server.port``: a request's span);
otherwise (a task, a function span) it is the path under the site's host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django_tracekit.core.logonce import LogOnce

_failed = LogOnce("no trace explorer link for a Sentry event")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def external_url(trace_id: str, template: str | None) -> str:
    """The trace's page in the team's backend (``template``: ``TRACE_URL``), or ``""``."""
    return template.replace("{trace_id}", trace_id) if template else ""


def admin_path(trace_id: str) -> str | None:
    """``admin:tracekit_trace``'s path, or ``None`` when the URLconf has no admin."""
    from django.core.exceptions import ImproperlyConfigured
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("admin:tracekit_trace", args=[trace_id])
    except (NoReverseMatch, ImproperlyConfigured, AttributeError):
        return None  # no admin; no URLconf (a worker's settings may have no ROOT_URLCONF)


def _origin(attributes: Mapping[str, Any]) -> str:
    scheme, host = attributes.get("url.scheme"), attributes.get("server.address")
    if scheme not in _DEFAULT_PORTS or not isinstance(host, str) or not host:
        return ""
    port = attributes.get("server.port")
    shown = f":{port}" if isinstance(port, int) and port != _DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{shown}"


def trace_links(trace_id: str, attributes: Mapping[str, Any] | None = None, *,
                trace_url: str | None, store_enabled: bool) -> dict[str, str]:
    """``{"trace_page": ..., "trace_url": ...}`` for a trace (each when available):
    ``store_enabled`` (TRACES['ENABLED']) and ``trace_url`` (TRACE_URL) as the caller was
    configured. Never raises (called while an error is being reported)."""
    links: dict[str, str] = {}
    try:
        if store_enabled:  # an error trace is always kept then
            path = admin_path(trace_id)
            if path is not None:
                links["trace_page"] = _origin(attributes or {}) + path
        if trace_url:
            links["trace_url"] = external_url(trace_id, trace_url)
    except Exception:  # an unusable URLconf must not lose the event
        _failed.failed()
    return links
