"""Request tracing behaviour, the same on every real server: gunicorn sync, gthread and
preloaded (forked) workers, and uvicorn (ASGI). Spans come back through the real OTLP
exporter into the local receiver."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.http.helpers import (
    ASGI_KINDS,
    KIND_INTERNAL,
    KIND_SERVER,
    PROJECT_DIR,
    STATUS_ERROR,
    STATUS_UNSET,
    WSGI_KINDS,
    Server,
    raise_line,
    view_name,
)

pytestmark = [
    # The servers export through the real OTLP/HTTP exporter (the otlp extra).
    pytest.mark.requires("opentelemetry.exporter.otlp.proto.http"),
    pytest.mark.parametrize("server", [*WSGI_KINDS, *ASGI_KINDS], indirect=True, scope="module"),
]

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def new_ids() -> tuple[str, str]:
    """A fresh (trace id, parent span id): every server shares the one receiver."""
    return secrets.token_hex(16), secrets.token_hex(8)


def test_class_based_view_names_route_and_parentage(server: Server) -> None:
    reply, root, others = server.request_and_trace("/orders/7/")
    assert reply.status == 200
    # The server span is renamed to the matched route, with http.route set.
    assert root.name == "GET /orders/<int:pk>/"
    assert root.kind == KIND_SERVER
    assert root.attributes["http.route"] == "/orders/<int:pk>/"
    assert root.attributes["http.request.method"] == "GET"
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["url.path"] == "/orders/7/"
    assert root.attributes["url.scheme"] == "http"
    assert root.attributes["server.address"] == "127.0.0.1"
    assert root.attributes["server.port"] == server.port
    assert root.attributes["network.peer.address"] == "127.0.0.1"
    assert root.parent_span_id == ""  # no traceparent sent: a new trace
    assert root.status_code == STATUS_UNSET
    assert root.resource["service.name"] == "tracekit-http-tests"
    # Exactly one child: the view, named Class/method by the convention, under the root.
    assert [s.name for s in others] == [view_name("OrderDetail/get")]
    view = others[0]
    assert view.kind == KIND_INTERNAL
    assert view.parent_span_id == root.span_id
    assert view.trace_id == root.trace_id
    assert view.attributes["code.function.name"] == "tests.http.project.views.OrderDetail.get"
    assert view.attributes["code.file.path"] == str(PROJECT_DIR / "views.py")
    # The view ran inside the request: its span lies within the server span.
    assert root.start_ns <= view.start_ns <= view.end_ns <= root.end_ns


def test_function_view(server: Server) -> None:
    reply, root, others = server.request_and_trace("/hello/")
    assert reply.status == 200
    assert root.name == "GET /hello/"
    assert [(s.name, s.parent_span_id) for s in others] == [(view_name("hello"), root.span_id)]


def test_drf_api_view_through_include(server: Server) -> None:
    # The route is the full path through include(): "api/" + "orders/<int:pk>/".
    reply, root, others = server.request_and_trace("/api/orders/5/")
    assert reply.status == 200
    assert reply.body == b'{"pk":5,"api":true}'
    assert root.name == "GET /api/orders/<int:pk>/"
    assert root.attributes["http.route"] == "/api/orders/<int:pk>/"
    assert [(s.name, s.parent_span_id) for s in others] == [
        (view_name("OrderApi/get"), root.span_id)]


def test_drf_viewset_actions_named_per_route(server: Server) -> None:
    # One ViewSet class behind two routes: each request is named after ITS action.
    _, list_root, list_spans = server.request_and_trace("/api/items/")
    assert list_root.name == "GET /api/items/"
    _, detail_root, detail_spans = server.request_and_trace("/api/items/abc/")
    assert [s.name for s in list_spans] == [view_name("ItemViewSet/list")]
    assert [s.name for s in detail_spans] == [view_name("ItemViewSet/retrieve")]
    assert detail_root.name == "GET /api/items/<str:pk>/"


def test_regex_route_reads_as_a_route(server: Server) -> None:
    reply, root, others = server.request_and_trace("/legacy/1999/")
    assert reply.body == b"1999"
    assert root.name == "GET /legacy/<year>/"
    assert root.attributes["http.route"] == "/legacy/<year>/"
    assert [s.name for s in others] == [view_name("legacy")]


def test_post_names_the_method(server: Server) -> None:
    reply, root, _ = server.request_and_trace(
        "/login/", method="POST", data=b"username=alice&password=wrong",
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 401  # a 4xx outcome...
    assert root.name == "POST /login/"
    assert root.attributes["http.request.method"] == "POST"
    assert root.status_code == STATUS_UNSET  # ...is not an error


def test_unmatched_404_is_not_an_error(server: Server) -> None:
    reply, root, others = server.request_and_trace("/no-such-page/")
    assert reply.status == 404
    assert root.name == "GET"  # no route matched: the semconv name is the method alone
    assert "http.route" not in root.attributes
    assert root.attributes["http.response.status_code"] == 404
    assert root.status_code == STATUS_UNSET
    assert "error.type" not in root.attributes
    assert root.exceptions == []
    assert others == []  # no view ran


def test_http404_raised_by_view_is_not_an_error(server: Server) -> None:
    reply, root, others = server.request_and_trace("/orders/0/")
    assert reply.status == 404
    assert root.name == "GET /orders/<int:pk>/"
    assert root.status_code == STATUS_UNSET
    assert "error.type" not in root.attributes
    assert [s.name for s in others] == [view_name("OrderDetail/get")]
    view = others[0]
    assert view.status_code == STATUS_UNSET
    assert view.exceptions == [] and root.exceptions == []


def test_view_exception_is_one_event_with_full_stack(server: Server) -> None:
    reply, root, others = server.request_and_trace("/boom/")
    assert reply.status == 500
    assert b"Server Error (500)" in reply.body  # Django's own answer, unchanged by us
    assert root.name == "GET /boom/"
    assert root.status_code == STATUS_ERROR
    assert root.attributes["http.response.status_code"] == 500
    assert root.attributes["error.type"] == "tests.http.project.views.PaymentDeclined"
    assert [s.name for s in others] == [view_name("boom")]
    view = others[0]
    # Exactly one exception event in the whole trace, on the view span that raised it; the
    # server span (the request failed with it: the incident) is ERROR and points at it.
    assert len(view.exceptions) == 1 and root.exceptions == []
    assert view.status_code == STATUS_ERROR
    assert root.attributes["tracekit.error.span_id"] == view.span_id
    assert root.attributes["tracekit.error.incident"] is True
    event = view.exceptions[0]
    assert event["exception.type"] == "tests.http.project.views.PaymentDeclined"
    assert event["exception.message"] == "card declined for 42"
    stack = event["exception.stacktrace"]
    views_py = PROJECT_DIR / "views.py"
    line = raise_line(views_py, "raise PaymentDeclined(f")
    frames = stack.splitlines()
    raise_frame = f'  File "{views_py}", line {line}, in _charge'
    assert raise_frame in frames
    assert any(f.startswith(f'  File "{views_py}", line') and f.endswith(" in boom")
               for f in frames)
    assert frames[-1] == "tests.http.project.views.PaymentDeclined: card declined for 42"
    # Callers above the recording point: the handler and the server itself (under ASGI
    # too: the sync view's error is recorded back in the event loop); tracekit's own
    # wrappers (middleware, view span) are hidden, as on Django's error pages.
    callers = frames[:frames.index(raise_frame)]
    assert any("django/core/handlers/base.py" in f and "_get_response" in f for f in callers)
    assert not [f for f in frames if "/django_tracekit/" in f], stack
    server_code = "/uvicorn/" if server.is_asgi else "/gunicorn/workers/"
    assert any(server_code in f for f in callers), stack


def test_exception_in_middleware(server: Server) -> None:
    reply, root, others = server.request_and_trace("/middleware-boom/")
    assert reply.status == 500
    assert root.status_code == STATUS_ERROR
    assert root.attributes["http.response.status_code"] == 500
    assert root.attributes["error.type"] == "tests.http.project.middleware.MiddlewareFailure"
    assert others == []  # the middleware failed before any view ran
    assert len(root.exceptions) == 1
    event = root.exceptions[0]
    assert event["exception.message"] == "middleware failed"
    stack = event["exception.stacktrace"]
    middleware_py = PROJECT_DIR / "middleware.py"
    line = raise_line(middleware_py, "raise MiddlewareFailure(")
    assert f'  File "{middleware_py}", line {line}, in RaiseOnPathMiddleware.process_request' \
        in stack.splitlines(), stack
    # The frame where Django converted it to a 500, i.e. the chain that carried it.
    assert "django/core/handlers/exception.py" in stack
    if server.kind in WSGI_KINDS:
        assert "gunicorn/workers/" in stack


def test_excluded_url_has_no_span(server: Server) -> None:
    excluded = server.request("/healthz")
    assert excluded.status == 200
    # A later traced request: once its span is in, the excluded one would have been too
    # (same process, spans exported in the order they end).
    server.server_span(server.request("/hello/"))
    assert server.spans_with_marker(excluded.marker) == []
    assert not [s for s in server.receiver.spans if s.attributes.get("url.path") == "/healthz"]
    # Nor a trace started by the view's own span (readiness polling hit it many times).
    assert server.receiver.named(view_name("healthz")) == []


def test_traceparent_continues_the_trace(server: Server) -> None:
    trace_id, parent_id = new_ids()
    reply, root, others = server.request_and_trace("/orders/3/", headers={
        "traceparent": f"00-{trace_id}-{parent_id}-01",
        "tracestate": "vendor=abc",
    })
    assert reply.status == 200
    assert root.trace_id == trace_id
    assert root.parent_span_id == parent_id
    assert [(s.name, s.trace_id, s.parent_span_id) for s in others] == [
        (view_name("OrderDetail/get"), trace_id, root.span_id)]


def test_unsampled_traceparent_is_respected(server: Server) -> None:
    # flags 00: the caller sampled the trace out; the parent-based sampler follows it.
    trace_id, parent_id = new_ids()
    quiet = server.request("/hello/", headers={"traceparent": f"00-{trace_id}-{parent_id}-00"})
    assert quiet.status == 200
    server.server_span(server.request("/hello/"))
    assert server.spans_with_marker(quiet.marker) == []
    # Neither the server span nor the view span of the sampled-out trace.
    assert not [s for s in server.receiver.spans if s.trace_id == trace_id]


@pytest.mark.parametrize("traceparent", [
    "00-not-a-trace-id-01",
    f"00-{TRACE_ID}-{PARENT_ID}",                   # flags missing
    f"00-{'0' * 32}-{PARENT_ID}-01",                # all-zero trace id is invalid
    # A future version may carry extra fields, so only the size guard rejects this one.
    f"cc-{TRACE_ID}-{PARENT_ID}-01-" + "x" * 6000,
], ids=["garbage", "no-flags", "zero-trace-id", "oversized"])
def test_bad_traceparent_starts_a_fresh_trace(server: Server, traceparent: str) -> None:
    reply, root, others = server.request_and_trace("/hello/",
                                                   headers={"traceparent": traceparent})
    assert reply.status == 200
    assert root.parent_span_id == ""
    assert root.trace_id not in (TRACE_ID, "0" * 32)
    assert re.fullmatch(r"[0-9a-f]{32}", root.trace_id)
    assert root.status_code == STATUS_UNSET
    assert [s.parent_span_id for s in others] == [root.span_id]


def test_streaming_span_lasts_until_the_body_is_sent(server: Server) -> None:
    from tests.http.project.views import STREAM_CHUNKS, STREAM_SLEEP_S

    reply, root, others = server.request_and_trace("/stream/")
    assert reply.body == b"chunk0\nchunk1\nchunk2\n"
    assert root.name == "GET /stream/"
    body_time = STREAM_CHUNKS * STREAM_SLEEP_S
    assert root.duration_s >= body_time, root.duration_s
    # The view only built the response; the body ran after it returned.
    assert [s.name for s in others] == [view_name("stream")]
    assert others[0].duration_s < STREAM_SLEEP_S


def test_header_capture_redacts_secrets(server: Server) -> None:
    reply, root, _ = server.request_and_trace("/cookie/", headers={
        "Authorization": "Bearer request-secret-1",
        "Cookie": "sessionid=request-secret-2",
        "X-Api-Token": "request-secret-3",
        "X-Harmless": "just-a-value",
    })
    assert reply.status == 200
    assert "flavour=cookie-secret-value" in reply.headers["set-cookie"]  # the app is unchanged
    attrs = root.attributes
    assert attrs["http.request.header.authorization"] == ["[redacted]"]
    assert attrs["http.request.header.cookie"] == ["[redacted]"]
    assert attrs["http.request.header.x-api-token"] == ["[redacted]"]
    assert attrs["http.request.header.x-harmless"] == ["just-a-value"]
    assert attrs["http.response.header.set-cookie"] == ["[redacted]"]
    assert attrs["http.response.header.x-api-token"] == ["[redacted]"]
    assert attrs["http.response.header.x-served-by"] == ["tests-http"]
    # No secret value leaks into any attribute of the span.
    flat = repr(attrs)
    for secret in ("request-secret", "cookie-secret-value", "response-secret-value"):
        assert secret not in flat


def test_query_secrets_are_redacted(server: Server) -> None:
    _, root, _ = server.request_and_trace("/hello/?page=2&api_key=query-secret")
    query = root.attributes["url.query"]
    assert "page=2" in query
    assert "api_key=%5Bredacted%5D" in query
    assert "query-secret" not in query


def test_disallowed_host_is_traced_as_400_not_error(server: Server) -> None:
    # CommonMiddleware's get_host() rejects the host; tracing itself must not.
    reply, root, others = server.request_and_trace("/hello/", headers={"Host": "evil.example"})
    assert reply.status == 400
    assert root.attributes["http.response.status_code"] == 400
    assert root.attributes["server.address"] == "evil.example"
    assert root.status_code == STATUS_UNSET
    assert root.exceptions == []
    assert others == []  # rejected before the view


def test_enduser_id_when_logged_in(server: Server) -> None:
    login = server.request("/login/", method="POST", data=b"username=alice&password=wonderland",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert login.status == 200
    session = next(v for k, v in login.header_list
                   if k == "set-cookie" and v.startswith("sessionid="))
    cookie = session.split(";")[0]
    _, root, _ = server.request_and_trace("/whoami/", headers={"Cookie": cookie})
    assert root.attributes["enduser.id"] == str(server.user_pk)
    # Anonymous: no enduser.id at all.
    _, anonymous, _ = server.request_and_trace("/whoami/")
    assert "enduser.id" not in anonymous.attributes
    # Logged in but the view never loaded the user: no extra query just for tracing.
    _, untouched, _ = server.request_and_trace("/hello/", headers={"Cookie": cookie})
    assert "enduser.id" not in untouched.attributes


def test_async_view(server: Server) -> None:
    reply, root, others = server.request_and_trace("/async/")
    assert reply.status == 200
    assert root.name == "GET /async/"
    assert [(s.name, s.parent_span_id, s.trace_id) for s in others] == [
        (view_name("async_hello"), root.span_id, root.trace_id)]
