"""The view runs in a child span named by the code-location convention.

Django resolves the view inside ``BaseHandler._get_response`` and keeps it in a local
variable, so the one public seam where the callback passes through is
``BaseHandler.make_view_atomic`` (Sentry's Django integration uses the same seam). It is
patched once; wrappers are cached per view, names per (view class, HTTP method).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from django_tracekit import naming
from django_tracekit.errors import is_error, record_error
from django_tracekit.tracer import get_tracer

REQUEST_SPAN_ATTR = "_tracekit_server_span"
_MAX_CACHED = 4096

View = Callable[..., Any]
_wrappers: dict[View, View] = {}
_locations: dict[tuple[Any, str], naming.CodeLocation] = {}
_patch_lock = threading.Lock()


def view_location(view: View, method: str) -> naming.CodeLocation:
    """Function views by their function; class-based (and DRF) views by ``Class/handler``."""
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    key = (view_class or view, method)
    location = _locations.get(key)
    if location is None:
        if view_class is None:
            location = naming.location_for(view)
        else:
            actions = getattr(view, "actions", None) or {}  # DRF ViewSets: {'get': 'list'}
            handler_name = actions.get(method, method)
            if not hasattr(view_class, handler_name):
                handler_name = "http_method_not_allowed"
            handler = getattr(view_class, handler_name, None)
            inherited = naming.location_for(handler) if handler is not None else None
            qualname = f"{view_class.__qualname__}.{handler_name}"
            location = naming.CodeLocation(
                name=naming.convention_name(view_class.__module__, qualname),
                function=f"{view_class.__module__}.{qualname}",
                file_path=inherited.file_path if inherited else "",
                line_number=inherited.line_number if inherited else 0,
            )
        if len(_locations) < _MAX_CACHED:
            _locations[key] = location
    return location


def _on_view_error(exc: BaseException, request: HttpRequest, view_span: Span) -> None:
    if not is_error(exc):
        return
    # The request's server span holds the one exception event (with the full stack);
    # the view span gets ERROR status and a reference to it.
    server_span = getattr(request, REQUEST_SPAN_ATTR, None)
    if server_span is not None:
        record_error(exc, server_span)
    record_error(exc, view_span)


def _start_view_span(view: View, request: HttpRequest) -> tuple[Span, Token[Context]]:
    location = view_location(view, (request.method or "get").lower())
    span = get_tracer().start_span(location.name, attributes=location.attributes)
    return span, otel_context.attach(trace.set_span_in_context(span))


def wrap_view(view: View) -> View:
    wrapper = _wrappers.get(view)
    if wrapper is not None:
        return wrapper
    if iscoroutinefunction(view):
        @functools.wraps(view)
        async def async_view_span(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            span, token = _start_view_span(view, request)
            try:
                return await view(request, *args, **kwargs)
            except BaseException as exc:
                _on_view_error(exc, request, span)
                raise
            finally:
                otel_context.detach(token)
                span.end()
        wrapper = markcoroutinefunction(async_view_span)
    else:
        @functools.wraps(view)
        def view_span(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            span, token = _start_view_span(view, request)
            try:
                return view(request, *args, **kwargs)
            except BaseException as exc:
                _on_view_error(exc, request, span)
                raise
            finally:
                otel_context.detach(token)
                span.end()
        wrapper = view_span
    if len(_wrappers) < _MAX_CACHED:
        _wrappers[view] = wrapper
    return wrapper


def install() -> None:
    """Patch ``BaseHandler.make_view_atomic`` once (idempotent)."""
    with _patch_lock:
        original = BaseHandler.make_view_atomic
        if getattr(original, "_tracekit", False):
            return

        @functools.wraps(original)
        def make_view_atomic(self: BaseHandler, view: View) -> View:
            # Wrap the view itself, not Django's ATOMIC_REQUESTS wrapper, which is new on
            # every request and so could not be the cache key.
            return original(self, wrap_view(view))

        make_view_atomic._tracekit = True  # type: ignore[attr-defined]
        BaseHandler.make_view_atomic = make_view_atomic  # type: ignore[method-assign]
