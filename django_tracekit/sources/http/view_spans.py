"""The view runs in a child span named by the code-location convention.

Django resolves the view inside ``BaseHandler._get_response`` and keeps it in a local
variable; the one place the callback passes through is ``BaseHandler.make_view_atomic``:
a method without an underscore but undocumented (not in Django's reference, no deprecation
promise), so a private seam (docs/PRIVATE_SEAMS.md; Sentry's Django integration patches it
too). It is patched once, only if it is there (else a warning: requests get no view span);
wrappers are cached per view, names per (view, HTTP method).

Under ASGI, Django runs a sync view in a worker thread; there the caller frames of an error
would be the thread pool's, not the request's. So in the event loop a sync view is wrapped
in a coroutine that opens the span, hands the view to the thread exactly as Django would
(``sync_to_async(thread_sensitive=True)``) and records errors back in the event loop, where
the whole chain (server, middleware, handler) is on the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http import HttpRequest
from django.utils.module_loading import import_string
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from django_tracekit.core import naming
from django_tracekit.core.errors import handle_escaping, is_error, record_error
from django_tracekit.core.spans import start_child

REQUEST_SPAN_ATTR = "_tracekit_server_span"
#: The request's view span while its view runs (``drf.py`` renames it when DRF's checks
#: deny before the handler runs).
VIEW_SPAN_ATTR = "_tracekit_view_span"
_MAX_CACHED = 4096
# Names are cached per (view, method) only for standard methods: a client sending made-up
# methods must not fill the cache.
_CACHED_METHODS = frozenset(
    ("get", "head", "post", "put", "patch", "delete", "options", "trace", "connect", "query"))

View = Callable[..., Any]
_wrappers: dict[View, View] = {}
_async_wrappers: dict[View, View] = {}
_locations: dict[tuple[View, str], naming.CodeLocation] = {}
_patch_lock = threading.Lock()


def _handler_name(view: View, view_class: type, method: str) -> str:
    """The method of ``view_class`` that Django's/DRF's dispatch calls for ``method``."""
    actions = getattr(view, "actions", None) or {}  # DRF ViewSets: {'get': 'list'}
    if method in actions:
        return str(actions[method])
    if method == "head" and "get" in actions:
        return str(actions["get"])  # DRF maps HEAD to the GET action
    if actions:
        return "http_method_not_allowed"
    allowed = getattr(view_class, "http_method_names", ())
    if method in allowed:
        if hasattr(view_class, method):
            return method
        if method == "head" and hasattr(view_class, "get"):
            return "get"  # View.setup(): ``self.head = self.get``
    return "http_method_not_allowed"


def _compute_location(view: View, method: str) -> naming.CodeLocation:
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if not isinstance(view_class, type):
        return naming.location_for(view)
    return method_location(view_class, _handler_name(view, view_class, method))


def method_location(view_class: type, method_name: str) -> naming.CodeLocation:
    """``Class/method`` of a class-based view."""
    handler = getattr(view_class, method_name, None)
    inherited = naming.location_for(handler) if callable(handler) else None
    qualname = f"{view_class.__qualname__}.{method_name}"
    # Named after the view class even when the handler is inherited: the feature is the
    # class; code.file.path/line point at the code that actually runs.
    return naming.location(view_class.__module__, qualname,
                           inherited.file_path if inherited else "",
                           inherited.line_number if inherited else 0)


def view_location(view: View, method: str) -> naming.CodeLocation:
    """Function views by their function; class-based (and DRF) views by ``Class/handler``.

    Keyed by the view callable, not its class: one DRF ViewSet class serves several routes
    (``as_view({'get': 'list'})``, ``as_view({'get': 'retrieve'})``) with different actions.
    """
    key = (view, method)
    try:
        location = _locations.get(key)
    except TypeError:  # an unhashable callable: name it, uncached
        return _compute_location(view, method)
    if location is None:
        location = _compute_location(view, method)
        if method in _CACHED_METHODS and len(_locations) < _MAX_CACHED:
            _locations[key] = location
    return location


def _on_view_error(exc: BaseException, request: HttpRequest, view_span: Span) -> None:
    # Recorded on the view span (the event, the stack), not reported yet: a middleware's
    # process_exception may still answer. Without one, Django answers 500: the request failed
    # with it, an incident now (before Django's signal, where an SDK would report it first);
    # else the request's got_request_exception decides (middleware.py).
    handle_escaping(exc, view_span)
    server_span = getattr(request, REQUEST_SPAN_ATTR, None)
    if server_span is not None and is_error(exc) and not _exception_middleware():
        record_error(exc, server_span)


@functools.lru_cache(maxsize=4)
def _exception_middleware_of(middleware: tuple[str, ...]) -> bool:
    for path in middleware:
        try:
            factory = import_string(path)
        except Exception:  # Django reports it at start-up; here: assume it may answer
            return True
        if isinstance(factory, type) and hasattr(factory, "process_exception"):
            return True
    return False


def _exception_middleware() -> bool:
    """Whether a middleware of MIDDLEWARE has ``process_exception`` (it may answer a view's
    exception with a response of its own)."""
    return _exception_middleware_of(tuple(getattr(settings, "MIDDLEWARE", None) or ()))


def _start_view_span(view: View, request: HttpRequest) -> tuple[Span, Token[Context]]:
    location = view_location(view, (request.method or "get").lower())
    parent_ctx = otel_context.get_current()
    # Through the span shortcut under the request's span (no sampler call, no attribute
    # validation of the location's known-good attributes); the SDK's path elsewhere.
    span = start_child(location.name, location.attributes, parent_ctx)
    request.__dict__[VIEW_SPAN_ATTR] = span
    return span, otel_context.attach(trace.set_span_in_context(span, parent_ctx))


def _cache(cache: dict[View, View], view: View, wrapper: View) -> None:
    if len(cache) < _MAX_CACHED:
        with contextlib.suppress(TypeError):  # unhashable view: wrapped anew per request
            cache[view] = wrapper


def _cached(cache: dict[View, View], view: View) -> View | None:
    try:
        return cache.get(view)
    except TypeError:
        return None


def _untraced(request: HttpRequest) -> Span | None:
    """The request's server span if it is not recording (excluded URL, sampled out): then
    the view gets no span of its own, which would be a stray root or cost for nothing."""
    span: Span | None = getattr(request, REQUEST_SPAN_ATTR, None)
    return span if span is not None and not span.is_recording() else None


def _on_untraced_error(exc: BaseException, server_span: Span) -> None:
    # Not recorded on a span (sampled out), but the listeners (Sentry, stats) still hear of
    # an incident, as for a traced request (_on_view_error); a handled one stays unreported.
    if server_span.get_span_context().is_valid:
        handle_escaping(exc, server_span)
        if is_error(exc) and not _exception_middleware():
            record_error(exc, server_span)


def _async_span_wrapper(view: View, target: Callable[..., Any]) -> View:
    """A coroutine function: the view span around ``await target(...)``."""
    @functools.wraps(view)
    async def async_view_span(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        untraced = _untraced(request)
        if untraced is not None:
            try:
                return await target(request, *args, **kwargs)
            except BaseException as exc:
                _on_untraced_error(exc, untraced)
                raise
        span, token = _start_view_span(view, request)
        try:
            return await target(request, *args, **kwargs)
        except BaseException as exc:
            _on_view_error(exc, request, span)
            raise
        finally:
            otel_context.detach(token)
            span.end()
    return markcoroutinefunction(async_view_span)


def wrap_view(view: View) -> View:
    """The view inside its span (sync views stay sync, async views async)."""
    wrapper = _cached(_wrappers, view)
    if wrapper is not None:
        return wrapper
    _first_drf_view(view)
    if iscoroutinefunction(view):
        wrapper = _async_span_wrapper(view, view)
    else:
        @functools.wraps(view)
        def view_span(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
            untraced = _untraced(request)
            if untraced is not None:
                try:
                    return view(request, *args, **kwargs)
                except BaseException as exc:
                    _on_untraced_error(exc, untraced)
                    raise
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
    _cache(_wrappers, view, wrapper)
    return wrapper


def _first_drf_view(view: View) -> None:
    """A DRF view (``as_view()`` sets ``cls``): DRF's ``initial`` is wrapped (``drf.py``),
    once, when the first one is served: DRF is not imported for a project that has it
    installed but serves no DRF view."""
    if getattr(view, "cls", None) is not None:
        from django_tracekit.sources.http import drf

        drf.install()


def wrap_sync_view_for_event_loop(view: View, atomic_view: View) -> View:
    """A sync view served from the event loop: run in a thread the way Django would."""
    if atomic_view is view:
        wrapper = _cached(_async_wrappers, view)
        if wrapper is not None:
            return wrapper
    _first_drf_view(view)
    wrapper = _async_span_wrapper(view, sync_to_async(atomic_view, thread_sensitive=True))
    if atomic_view is view:  # a per-request atomic wrapper must not become a cache key
        _cache(_async_wrappers, view, wrapper)
    return wrapper


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def install() -> None:
    """Patch ``BaseHandler.make_view_atomic`` once (idempotent); a warning if it is gone."""
    with _patch_lock:
        original: Callable[[BaseHandler, View], View] | None = getattr(
            BaseHandler, "make_view_atomic", None)
        if not callable(original):
            logging.getLogger("django_tracekit").warning(
                "tracekit: this Django has no BaseHandler.make_view_atomic; requests are "
                "traced without a child span for the view (docs/PRIVATE_SEAMS.md)")
            return
        if getattr(original, "_tracekit", False):
            return

        @functools.wraps(original)
        def make_view_atomic(self: BaseHandler, view: View) -> View:
            try:
                if not iscoroutinefunction(view) and _in_event_loop():
                    # ASGI: Django's own ATOMIC_REQUESTS handling first (it refuses async
                    # views), then our coroutine instead of Django's sync_to_async.
                    return wrap_sync_view_for_event_loop(view, original(self, view))
                # Wrap the view itself, not Django's ATOMIC_REQUESTS wrapper, which is new
                # on every request and so could not be the cache key.
                wrapped = wrap_view(view)
            except Exception:  # tracing never breaks the request
                return original(self, view)
            return original(self, wrapped)

        make_view_atomic._tracekit = True  # type: ignore[attr-defined]
        BaseHandler.make_view_atomic = make_view_atomic  # type: ignore[method-assign]
