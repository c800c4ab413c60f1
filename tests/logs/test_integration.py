"""The logs integration: on by default, off with LEVEL None; a real request through Django's
test Client gets its log records as events of the view and server spans, each error once."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from django_tracekit.conf import get_config
from django_tracekit.integrations import decide
from django_tracekit.sources.logs.integration import LogsIntegration
from tests.conftest import Spans
from tests.logs.conftest import exception_events, log_events

VIEWS = "tests/logs/urls"


@pytest.mark.parametrize(("level", "refusal"), [
    ("INFO", None), (30, None), (None, "TRACEKIT['LOGS']['LEVEL'] is None")])
def test_on_unless_level_is_none(level: object, refusal: str | None) -> None:
    with override_settings(TRACEKIT={"LOGS": {"LEVEL": level}}):
        decisions = {d.integration.identifier: d for d in decide(get_config())}
    assert isinstance(decisions["logs"].integration, LogsIntegration)
    assert decisions["logs"].refusal == refusal


def trace_of(spans: Spans, path: str) -> tuple[ReadableSpan, ReadableSpan]:
    server = next(s for s in spans.all() if s.kind is SpanKind.SERVER
                  and (s.attributes or {}).get("url.path") == path)
    context = server.get_span_context()
    assert context is not None
    view = next(s for s in spans.all() if s.parent is not None
                and s.parent.span_id == context.span_id)
    return server, view


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


pytestmark = pytest.mark.urls("tests.logs.urls")


def test_a_views_records_are_events_of_its_span(spans: Spans, client: Client) -> None:
    assert client.get("/logged/").status_code == 200
    server, view = trace_of(spans, "/logged/")
    assert view.name == f"{VIEWS}/logged"
    (event,) = log_events(view)
    assert event["log.message"] == "placing order 7"
    assert event["code.function.name"] == "logged"
    assert log_events(server) == []


def test_an_async_views_records_are_events_of_its_span(spans: Spans, client: Client) -> None:
    assert client.get("/logged-async/").status_code == 200
    _, view = trace_of(spans, "/logged-async/")
    assert view.name == f"{VIEWS}/logged_async"
    assert [e["log.message"] for e in log_events(view)] == ["placing order 8 asynchronously"]


def test_a_handled_exception_that_is_logged_is_an_error_of_the_view(
        spans: Spans, client: Client) -> None:
    assert client.get("/handled/").status_code == 200
    _, view = trace_of(spans, "/handled/")
    assert [e["log.message"] for e in log_events(view)] == ["lookup failed, using a default"]
    (error,) = exception_events(view)
    assert error["exception.type"] == "KeyError"
    assert view.status.status_code is StatusCode.ERROR


def test_a_logged_and_reraised_exception_is_recorded_once_in_the_trace(
        spans: Spans, client: Client) -> None:
    assert client.get("/reraised/").status_code == 500
    server, view = trace_of(spans, "/reraised/")
    assert [e["log.message"] for e in log_events(view)] == ["giving up"]
    # Django's own "Internal Server Error" record is an event of the server span ...
    assert [e["log.message"] for e in log_events(server)] == [
        "Internal Server Error: /reraised/"]
    # ... and the error has one copy of its stack in the whole trace.
    everywhere = [e for s in spans.all() for e in exception_events(s)]
    assert len(everywhere) == 1
    assert exception_events(view) == everywhere
    assert server.status.status_code is StatusCode.ERROR


def test_a_404_is_not_an_error(spans: Spans, client: Client) -> None:
    assert client.get("/missing/").status_code == 404
    server, _ = trace_of(spans, "/missing/")
    # Django logs "Not Found" after the outermost middleware returned: the server span has
    # ended by then (docs/logs.md), so it is not an event.
    assert [e for s in spans.all() for e in exception_events(s)] == []
    assert server.status.status_code is StatusCode.UNSET
