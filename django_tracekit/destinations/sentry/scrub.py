"""tracekit's secrets rule (``django_tracekit.core.redaction``) applied to every Sentry event.

A ``before_send`` wrapper runs after every event processor (so request data added by the
SDK's Django integration is covered) and ahead of the application's own ``before_send``.
Frame variables never show a request's query string or body: a repr processor renders
requests as method + path while the SDK serialises locals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django_tracekit.core import guard
from django_tracekit.core.errors import AUTOTRACE_LOCAL_PREFIX
from django_tracekit.core.redaction import (
    describe_request,
    redact_data,
    redact_query,
    redact_text,
    redact_url,
)

logger = logging.getLogger("django_tracekit")


def wrap_before_send(client: Any) -> None:
    """Put the redaction in front of ``client``'s ``before_send`` (once per client)."""
    options = getattr(client, "options", None)
    if not isinstance(options, dict):
        return
    original = options.get("before_send")
    if getattr(original, "_tracekit", False):
        return

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        try:
            redact_event(event, send_pii=bool(options.get("send_default_pii")))
        except Exception:
            logger.debug("tracekit: redacting a Sentry event failed", exc_info=True)
        return original(event, hint) if original is not None else event

    before_send._tracekit = True  # type: ignore[attr-defined]
    options["before_send"] = before_send


# What the SDK's serializer renders itself (containers are walked, their items come back).
_SERIALIZED_BY_SDK = (type(None), bool, int, float, str, bytes, bytearray, datetime, Mapping,
                      list, tuple, set, frozenset)


def repr_request(value: Any, hint: Any) -> Any:
    """SDK repr processor: a request as ``<WSGIRequest: GET '/path'>``, never its query; any
    other object's repr (the SDK's own ``safe_repr``) runs untraced: an auto-traced
    ``__repr__`` that raises must not become an error span each time the SDK renders a
    frame's variables (``guard``)."""
    shown = describe_request(value)
    if shown is not None:
        return shown
    if isinstance(value, _SERIALIZED_BY_SDK) or hasattr(type(value), "__sentry_repr__"):
        return NotImplemented
    from sentry_sdk.utils import safe_repr

    with guard.formatting():
        return safe_repr(value)


def redact_event(event: dict[str, Any], *, send_pii: bool) -> None:
    """Apply tracekit's redaction rule to everything an event carries about the request."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("headers", "data", "env"):
            if key in request:
                request[key] = redact_data(request[key])
        if not send_pii:
            request.pop("cookies", None)
        elif "cookies" in request:
            request["cookies"] = redact_data(request["cookies"])
        if isinstance(request.get("query_string"), str):
            request["query_string"] = redact_query(request["query_string"])
        if isinstance(request.get("url"), str):
            request["url"] = redact_url(request["url"])
    for key in ("extra", "tags"):
        if isinstance(event.get(key), dict):
            event[key] = redact_data(event[key])
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        event["contexts"] = {k: (v if k == "trace" else redact_data(v))
                             for k, v in contexts.items()}
    breadcrumbs = event.get("breadcrumbs")
    values = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else None
    for crumb in values or []:
        if isinstance(crumb, dict):
            redact_breadcrumb(crumb)
    for frames in _frame_lists(event):
        for frame in frames:
            if isinstance(frame, dict) and isinstance(frame.get("vars"), dict):
                frame["vars"] = redact_data({
                    k: v for k, v in frame["vars"].items()
                    if not (isinstance(k, str) and k.startswith(AUTOTRACE_LOCAL_PREFIX))})


# Breadcrumb categories of the SDK's integrations that carry SQL / cache keys.
_SQL_CATEGORIES = frozenset({"query"})
_CACHE_CATEGORIES = frozenset({"redis", "cache"})
_CACHE_KEY_DATA = ("redis.key", "cache.key", "key")


def redact_breadcrumb(crumb: dict[str, Any]) -> None:
    """A breadcrumb as clean as tracekit's own span of the same call: SQL with its literals
    replaced (as the db source does: ``WHERE password = ?``), its parameters dropped; cache
    and Redis keys redacted after a secret-named part (as the cache source does:
    ``:1:session:[redacted]``); anything else by the common rule."""
    category = crumb.get("category")
    message = crumb.get("message")
    data = crumb.get("data") if isinstance(crumb.get("data"), dict) else None
    if category in _SQL_CATEGORIES:
        if isinstance(message, str):
            crumb["message"] = _sanitize_sql(message)
        if data is not None:
            data.pop("db.params", None)  # the values the SQL's placeholders stood for
    elif category in _CACHE_CATEGORIES:
        from django_tracekit.core import cache_keys as keys

        if isinstance(message, str):
            crumb["message"] = keys.redact(message)
        for name in _CACHE_KEY_DATA if data is not None else ():
            assert data is not None
            value = data.get(name)
            if isinstance(value, str):
                data[name] = keys.redact(value)
            elif isinstance(value, (list, tuple)):
                data[name] = [keys.redact(v) if isinstance(v, str) else v for v in value]
    if isinstance(crumb.get("message"), str):
        crumb["message"] = redact_text(crumb["message"])
    if data is not None:
        data = redact_data(data)
        if isinstance(data.get("url"), str):
            data["url"] = redact_url(data["url"])
        crumb["data"] = data


def _sanitize_sql(sql: str) -> str:
    from django.db import connections

    from django_tracekit.core import sql_text as statements

    # On MySQL/MariaDB a double-quoted token is a string: read it so if any alias is MySQL
    # (an identifier replaced by "?" costs a name, never a secret).
    mysql = any(connections.settings[alias].get("ENGINE", "").endswith("mysql")
                for alias in connections.settings)
    return statements.sanitize(sql, mysql)


def _frame_lists(event: dict[str, Any]) -> Iterable[list[Any]]:
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values") if isinstance(container, dict) else None
        for value in values or []:
            stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
            if isinstance(stacktrace, dict) and isinstance(stacktrace.get("frames"), list):
                yield stacktrace["frames"]
