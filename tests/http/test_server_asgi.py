"""uvicorn-only behaviour: async views running on the event loop, async streaming bodies,
the async user API."""

from __future__ import annotations

import pytest

from tests.http.helpers import (
    PROJECT_DIR,
    STATUS_ERROR,
    Server,
    raise_line,
    view_name,
)

pytestmark = [
    # The servers export through the real OTLP/HTTP exporter (the otlp extra).
    pytest.mark.requires("opentelemetry.exporter.otlp.proto.http"),
    pytest.mark.parametrize("server", ["uvicorn"], indirect=True, scope="module"),
]


def test_async_view_error_has_the_await_chain(server: Server) -> None:
    reply, root, others = server.request_and_trace("/async-boom/")
    assert reply.status == 500
    assert root.name == "GET /async-boom/"
    assert root.status_code == STATUS_ERROR
    assert [s.name for s in others] == [view_name("async_boom")]
    assert others[0].status_code == STATUS_ERROR
    assert root.exceptions == []  # recorded where raised: the view span
    assert len(others[0].exceptions) == 1
    stack = others[0].exceptions[0]["exception.stacktrace"]
    frames = stack.splitlines()
    views_py = PROJECT_DIR / "views.py"
    raise_frame = (f'  File "{views_py}", line {raise_line(views_py, "async declined")}, '
                   "in async_boom")
    assert raise_frame in frames
    callers = frames[:frames.index(raise_frame)]
    # The running coroutine chain: uvicorn, Django's ASGI handler (tracekit's middleware
    # and view wrapper are hidden, as on Django's error pages).
    assert any("/uvicorn/" in f for f in callers), stack
    assert any("django/core/handlers/asgi.py" in f for f in callers), stack
    assert not [f for f in frames if "/django_tracekit/" in f], stack


def test_async_streaming_span_lasts_until_the_body_is_sent(server: Server) -> None:
    from tests.http.project.views import STREAM_CHUNKS, STREAM_SLEEP_S

    reply, root, others = server.request_and_trace("/async-stream/")
    assert reply.body == b"chunk0\nchunk1\nchunk2\n"
    assert root.duration_s >= STREAM_CHUNKS * STREAM_SLEEP_S
    assert [s.name for s in others] == [view_name("async_stream")]
    assert others[0].duration_s < STREAM_SLEEP_S


def test_enduser_id_from_async_user_api(server: Server) -> None:
    # ``await request.auser()`` leaves request.user lazy; the id must still be found.
    login = server.request("/login/", method="POST", data=b"username=alice&password=wonderland",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = next(v for k, v in login.header_list
                  if k == "set-cookie" and v.startswith("sessionid=")).split(";")[0]
    reply, root, _ = server.request_and_trace("/async-whoami/", headers={"Cookie": cookie})
    assert reply.body == f'{{"user": {server.user_pk}}}'.encode()
    assert root.attributes["enduser.id"] == str(server.user_pk)
    _, anonymous, _ = server.request_and_trace("/async-whoami/")
    assert "enduser.id" not in anonymous.attributes
