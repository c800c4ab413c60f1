"""Each view answers with the ids of its span and the traceparent it received."""

from typing import Any

import requests
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from opentelemetry import trace


def _ids(request: HttpRequest, **extra: Any) -> JsonResponse:
    context = trace.get_current_span().get_span_context()
    return JsonResponse({"trace_id": format(context.trace_id, "032x"),
                         "span_id": format(context.span_id, "016x"),
                         "traceparent": request.headers.get("traceparent"), **extra})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def hello(request: HttpRequest) -> JsonResponse:
    return _ids(request)


def relay(request: HttpRequest) -> JsonResponse:
    """Calls ``?to=`` with requests: a service calling another one."""
    reply = requests.get(request.GET["to"], timeout=30)
    return _ids(request, callee=reply.json())


def cached(request: HttpRequest, key: str) -> JsonResponse:
    """A read-through cache: computed on a miss, read on a hit."""
    value = cache.get_or_set(key, lambda: f"computed-{key}", 60)
    return _ids(request, value=value, hit=cache.has_key(key))
