"""tracekit's secrets rule (``django_tracekit.redaction``) applied to every Sentry event.

A ``before_send`` wrapper runs after every event processor (so request data added by the
SDK's Django integration is covered) and ahead of the application's own ``before_send``.
Frame variables never show a request's query string or body: a repr processor renders
requests as method + path while the SDK serialises locals.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django_tracekit.redaction import (
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


def repr_request(value: Any, hint: Any) -> Any:
    """SDK repr processor: a request as ``<WSGIRequest: GET '/path'>``, never its query."""
    shown = describe_request(value)
    return NotImplemented if shown is None else shown


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
        if not isinstance(crumb, dict):
            continue
        if isinstance(crumb.get("message"), str):
            crumb["message"] = redact_text(crumb["message"])
        if isinstance(crumb.get("data"), dict):
            data = redact_data(crumb["data"])
            if isinstance(data.get("url"), str):
                data["url"] = redact_url(data["url"])
            crumb["data"] = data
    for frames in _frame_lists(event):
        for frame in frames:
            if isinstance(frame, dict) and "vars" in frame:
                frame["vars"] = redact_data(frame["vars"])


def _frame_lists(event: dict[str, Any]) -> Iterable[list[Any]]:
    for section in ("exception", "threads"):
        container = event.get(section)
        values = container.get("values") if isinstance(container, dict) else None
        for value in values or []:
            stacktrace = value.get("stacktrace") if isinstance(value, dict) else None
            if isinstance(stacktrace, dict) and isinstance(stacktrace.get("frames"), list):
                yield stacktrace["frames"]
