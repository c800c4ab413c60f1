"""``TracekitMiddleware``: every request is a server span; the view a convention-named child.

Put it first in MIDDLEWARE (system check ``django_tracekit.W022``) so that the span covers
every other middleware, and exceptions and rejected hosts in them are traced.

- The span follows the OTel HTTP server conventions, is renamed to ``{method} {route}``
  once the URL resolved (``http.route``), ERROR on 5xx only (4xx are outcomes, not errors).
- W3C ``traceparent``/``tracestate``/``baggage`` continue the caller's trace; malformed or
  oversized headers start a fresh trace, logged at most once a minute (``http/propagation``,
  ``core/propagation_logs``).
- Streaming responses keep the span open until the body is sent (or the server closes it).
- Tracing failures never reach the request: the middleware degrades to a pass-through.
- tracekit's own admin pages, static and media files are answered untraced, like
  ``EXCLUDED_URLS`` (``http/own.py``): they are not the team's features.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponseBase
from django.utils.functional import SimpleLazyObject, empty
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from django_tracekit.core import chain
from django_tracekit.core.chain import NOT_USAGE, Phase
from django_tracekit.core.errors import handle_escaping, record_error
from django_tracekit.core.propagation_logs import limit_propagation_logs
from django_tracekit.core.sdk_attributes import set_known
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.http import excluded, own
from django_tracekit.sources.http import view_spans as views
from django_tracekit.sources.http.attributes import (
    HeaderCapture,
    method_of,
    request_attributes,
    route_answered_early,
)
from django_tracekit.sources.http.attributes import http_route as route_of
from django_tracekit.sources.http.propagation import MetaGetter

logger = logging.getLogger("django_tracekit")

_getter = MetaGetter()


def _on_request_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Unhandled exception in a middleware or view (Django is about to answer 500)."""
    span = getattr(request, views.REQUEST_SPAN_ATTR, None)
    exc = sys.exc_info()[1]
    # An excluded URL carries the invalid span: not traced, not reported.
    if span is not None and exc is not None and span.get_span_context().is_valid:
        record_error(exc, span)


got_request_exception.connect(_on_request_exception, dispatch_uid="django_tracekit")


class TracekitMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.headers = HeaderCapture()
        views.install()
        limit_propagation_logs()

    def __call__(self, request: HttpRequest) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        if self.is_async:
            return self.__acall__(request)
        started = self._start(request)
        if started is None:
            return self.get_response(request)
        if isinstance(started, Phase):
            with chain.not_usage():
                return self.get_response(request)
        span, token = started
        try:
            response = self.get_response(request)
        except BaseException as exc:  # Django converts exceptions; this is the rare rest
            self._fail(span, exc)
            raise
        finally:
            otel_context.detach(token)
        return self._finish(request, response, span)

    async def __acall__(self, request: HttpRequest) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        started = self._start(request)
        if started is None:
            return await self.get_response(request)
        if isinstance(started, Phase):
            with chain.not_usage():
                return await self.get_response(request)
        span, token = started
        try:
            response = await self.get_response(request)
        except BaseException as exc:
            self._fail(span, exc)
            raise
        finally:
            otel_context.detach(token)
        return self._finish(request, response, span)

    def _start(self, request: HttpRequest) -> tuple[Span, Token[Context]] | Phase | None:
        try:
            path = request.path
            if excluded.matches(path) or own.is_own(path):
                # Marked, so that the view does not start a trace of its own either. Not
                # usage: the project's middleware and context processors these requests run
                # are not counted (the wger trial: browsing tracekit's pages added calls).
                setattr(request, views.REQUEST_SPAN_ATTR, trace.INVALID_SPAN)
                return NOT_USAGE
            parent = propagate.extract(request.META, getter=_getter)
            span = get_tracer().start_span(
                method_of(request).replace("_OTHER", "HTTP"), context=parent,
                kind=SpanKind.SERVER)
            if span.is_recording():
                set_known(span, request_attributes(request))  # valid by construction
                headers = self.headers.request_headers(request)
                if headers:
                    span.set_attributes(headers)
            setattr(request, views.REQUEST_SPAN_ATTR, span)
            return span, otel_context.attach(trace.set_span_in_context(span, parent))
        except Exception:
            logger.warning("tracekit: could not start the request span", exc_info=True)
            return None

    def _fail(self, span: Span, exc: BaseException) -> None:
        handle_escaping(exc, span)
        span.end()

    def _finish(self, request: HttpRequest, response: HttpResponseBase, span: Span) -> Any:
        try:
            if span.is_recording():
                self._describe(request, response, span)
            if response.streaming:
                self._end_after_body(response, span)
                return response
        except Exception:
            logger.warning("tracekit: could not finish the request span", exc_info=True)
        span.end()
        return response

    def _describe(self, request: HttpRequest, response: HttpResponseBase, span: Span) -> None:
        http_route = route_of(request)
        status = response.status_code
        if http_route is None and status != 404:
            http_route = route_answered_early(request)
        attributes: dict[str, Any] = {}
        if http_route is not None:
            attributes["http.route"] = http_route
            span.update_name(f"{method_of(request).replace('_OTHER', 'HTTP')} {http_route}")
        attributes["http.response.status_code"] = status
        recorded = getattr(span, "status", None)  # SDK spans: keep a recorded description
        if status >= 500 and (recorded is None or recorded.status_code is not StatusCode.ERROR):
            attributes["error.type"] = str(status)
            span.set_status(Status(StatusCode.ERROR))
        user_id = _authenticated_user_id(request)
        if user_id is not None:
            attributes["enduser.id"] = user_id
        set_known(span, attributes)  # valid by construction: no per-value validation
        headers = self.headers.response_headers(response)
        if headers:
            span.set_attributes(headers)

    def _end_after_body(self, response: HttpResponseBase, span: Span) -> None:
        if getattr(response, "file_to_stream", None) is not None:
            # A FileResponse the server may send with wsgi.file_wrapper (sendfile): replacing
            # its content would disable that, so end the span when the server closes it
            # (Django hands ``response.close`` to the file wrapper: this one).
            close = response.close

            def close_and_end() -> None:
                try:
                    close()
                finally:
                    span.end()

            response.close = close_and_end  # type: ignore[method-assign]
            return
        content = response.streaming_content  # type: ignore[attr-defined]
        body: _TimedBody
        if hasattr(content, "__aiter__"):
            body = _AsyncTimedBody(content, span)
        else:
            body = _SyncTimedBody(content, span)
        response.streaming_content = body  # type: ignore[attr-defined]


def _authenticated_user_id(request: HttpRequest) -> str | None:
    """The user's id, only if the app already loaded the user (no extra query for tracing)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        user = None
    if user is None:
        # ``await request.auser()`` (async views) caches here and leaves request.user lazy.
        user = request.__dict__.get("_acached_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = getattr(user, "pk", None)
    return None if pk is None else str(pk)


class _TimedBody:
    """The response body, ending the span once it is sent.

    The span ends when the body is exhausted, fails, or is closed by the server (Django
    calls ``close()`` on every body it was given, also when the client went away before the
    first chunk: a generator's ``finally`` would not run then).
    """

    def __init__(self, content: Any, span: Span) -> None:
        self._content = content
        self._span = span
        self._ended = False

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._span.end()

    def _failed(self, exc: BaseException) -> None:
        if not self._ended:
            record_error(exc, self._span)

    def close(self) -> None:
        self._end()


class _SyncTimedBody(_TimedBody):
    def __iter__(self) -> Iterator[bytes]:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        try:
            yield from self._content
        except Exception as exc:
            self._failed(exc)
            raise
        finally:
            self._end()


class _AsyncTimedBody(_TimedBody):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        try:
            async for chunk in self._content:
                yield chunk
        except Exception as exc:
            self._failed(exc)
            raise
        finally:
            self._end()
