"""In-process unit tests of the middleware's edge cases that a real server rarely hits:
a body closed before it is iterated, FileResponse, the user id rules, unhashable views."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject
from opentelemetry import trace

from django_tracekit.core import errors
from django_tracekit.sources.http import view_spans as views
from django_tracekit.sources.http.middleware import TracekitMiddleware, _authenticated_user_id
from tests.conftest import Spans


# response.close() sends request_finished, which checks DB connections.
@pytest.mark.django_db
def test_streaming_body_closed_before_iteration_still_ends_the_span(spans: Spans) -> None:
    started: list[bool] = []

    def body() -> Iterator[bytes]:
        started.append(True)
        yield b"never sent"

    response = TracekitMiddleware(lambda r: StreamingHttpResponse(body()))(
        RequestFactory().get("/download/"))
    assert spans.names() == []  # open while the body is pending
    response.close()  # what a WSGI server does when the client went away first
    assert spans.names() == ["GET"]
    assert started == []


# response.close() sends request_finished, which checks DB connections.
@pytest.mark.django_db
def test_streaming_body_error_is_recorded_and_ends_the_span(spans: Spans) -> None:
    def body() -> Iterator[bytes]:
        yield b"first"
        raise OSError("disk gone")

    response = TracekitMiddleware(lambda r: StreamingHttpResponse(body()))(
        RequestFactory().get("/export/"))
    chunks = iter(response)
    assert next(chunks) == b"first"
    with pytest.raises(OSError, match="disk gone"):  # the body's error reaches the server
        next(chunks)
    span = spans.named("GET")
    assert [e.attributes["exception.type"] for e in span.events] == ["OSError"]
    response.close()
    assert len(spans.all()) == 1  # ended exactly once


# response.close() sends request_finished, which checks DB connections.
@pytest.mark.django_db
def test_file_response_keeps_the_file_for_sendfile(spans: Spans) -> None:
    handle = io.BytesIO(b"data")
    response = TracekitMiddleware(lambda r: FileResponse(handle))(
        RequestFactory().get("/file/"))
    # The server can still use wsgi.file_wrapper: the file was not swapped for a generator.
    assert response.file_to_stream is handle
    assert spans.names() == []
    response.close()
    assert spans.names() == ["GET"]


def test_user_id_only_when_already_loaded() -> None:
    class User:
        is_authenticated = True
        pk = 42

    def loader() -> Any:
        raise AssertionError("tracing must not load the user")

    request = HttpRequest()
    assert _authenticated_user_id(request) is None
    request.user = SimpleLazyObject(loader)
    assert _authenticated_user_id(request) is None  # lazy and untouched: no query
    request.user = AnonymousUser()
    assert _authenticated_user_id(request) is None
    request.user = User()
    assert _authenticated_user_id(request) == "42"
    async_request = HttpRequest()
    async_request.user = SimpleLazyObject(loader)
    async_request._acached_user = User()  # type: ignore[attr-defined]  # set by auser()
    assert _authenticated_user_id(async_request) == "42"


def test_unhashable_view_is_still_traced(spans: Spans) -> None:
    class UnhashableView:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, request: HttpRequest) -> HttpResponse:
            return HttpResponse("ok")

    wrapped = views.wrap_view(UnhashableView())
    assert wrapped(RequestFactory().get("/")).content == b"ok"
    assert spans.names() == [
        "tests/http/test_middleware_inprocess/test_unhashable_view_is_still_traced/"
        "UnhashableView/__call__"]


def _failing_view(request: HttpRequest) -> HttpResponse:
    raise ValueError("view failed")


def test_sampled_out_request_has_no_view_span_but_errors_reach_listeners(
        spans: Spans) -> None:
    heard: list[tuple[BaseException, Any]] = []
    errors.error_listeners.append(lambda exc, span: heard.append((exc, span)))
    try:
        server_span = trace.NonRecordingSpan(trace.SpanContext(
            trace_id=0x1234, span_id=0x5678, is_remote=False))  # valid, not sampled
        request = RequestFactory().get("/")
        setattr(request, views.REQUEST_SPAN_ATTR, server_span)
        with pytest.raises(ValueError) as raised:
            views.wrap_view(_failing_view)(request)
        assert spans.names() == []  # no span made for a trace nobody keeps
        assert heard == [(raised.value, server_span)]  # sampling never hides an error

        # An excluded URL (marked with the invalid span): not traced, not reported.
        heard.clear()
        excluded = RequestFactory().get("/healthz")
        setattr(excluded, views.REQUEST_SPAN_ATTR, trace.INVALID_SPAN)
        with pytest.raises(ValueError):
            views.wrap_view(_failing_view)(excluded)
        assert spans.names() == [] and heard == []
    finally:
        errors.error_listeners.pop()


def test_excluded_urls_follow_the_settings_without_reading_them_per_request(
        spans: Spans, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """EXCLUDED_URLS reach the middleware from its integration (again when the settings
    change), never from ``get_config()`` per request."""
    from django_tracekit.conf import current

    middleware = TracekitMiddleware(lambda r: HttpResponse("ok"))
    settings.TRACEKIT = {**settings.TRACEKIT, "EXCLUDED_URLS": [r"^/healthz"]}

    def unreadable(*args: Any) -> Any:
        raise AssertionError("get_config() on the request path")

    with monkeypatch.context() as patched:
        patched.setattr(current, "resolve", unreadable)
        patched.setattr(current, "_cached", None)
        middleware(RequestFactory().get("/healthz/"))
        middleware(RequestFactory().get("/orders/"))
    assert spans.names() == ["GET"]


@pytest.mark.django_db
def test_the_view_span_takes_the_shortcut_under_the_request_span(
        spans: Spans, monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.core import spans as engine

    made: list[Any] = []
    real_start_child = engine.start_child

    def start_child(*args: Any) -> Any:
        made.append(real_start_child(*args))
        return made[-1]

    monkeypatch.setattr(views, "start_child", start_child)
    middleware = TracekitMiddleware(views.wrap_view(_failing_view))
    with pytest.raises(ValueError, match="view failed"):  # no handler converts it here
        middleware(RequestFactory().get("/fails/"))
    assert [type(s) for s in made] == [engine.AutoSpan]  # not the SDK's span
    view = spans.named("tests/http/test_middleware_inprocess/_failing_view")
    request = next(s for s in spans.all() if s.kind is trace.SpanKind.SERVER)
    assert view.parent is not None and view.parent.span_id == request.context.span_id
    assert view.context.trace_id == request.context.trace_id
    assert view.status.status_code is trace.StatusCode.ERROR
    assert [e.name for e in view.events] == ["exception"]  # recorded where it was raised
    assert view.attributes["code.function.name"].endswith("_failing_view")
    assert request.status.status_code is trace.StatusCode.ERROR  # the error escaped it
