"""The WSGI application, wrapped to report each request's span as it ended: its duration
(the span's own end minus start, read once Django returned and TracekitMiddleware ended
it) and the whole WSGI call's, in response headers held back until then."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

django_application = get_wsgi_application()


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    held: list[Any] = []

    def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        held[:] = [status, list(headers), exc_info]
        return lambda data: None  # Django never uses write()

    began = time.time_ns()
    result = django_application(environ, hold)
    wsgi_us = (time.time_ns() - began) // 1000
    status, headers, exc_info = held
    span = environ.get("tk_audit.span")
    end = getattr(span, "end_time", None)
    if span is not None and end is not None:  # recorded and ended (excluded URLs: none)
        headers.append(("X-Audit-Span-Us", str((end - span.start_time) // 1000)))
    headers.append(("X-Audit-Wsgi-Us", str(wsgi_us)))
    start_response(status, headers, exc_info)
    return result
