"""Outgoing calls through requests, httpx, urllib3 and urllib: CLIENT spans from the contrib
instrumentors, W3C traceparent sent, the other tracekit service continuing the same trace.

The caller is this test process (tracekit set up by the test settings, spans captured in
memory); the callee and a relay are gunicorn processes exporting to the OTLP receiver.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

import django_tracekit as tracekit
from django_tracekit.sources.httpclient import instrumentors
from tests.conftest import Spans
from tests.httpclient.conftest import KIND_CLIENT, Service, server_span
from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires(*instrumentors.MODULES, "opentelemetry.exporter.otlp")


def _requests(url: str) -> Any:
    import requests

    return requests.get(url, timeout=30).json()


def _httpx(url: str) -> Any:
    import httpx

    return httpx.get(url, timeout=30).json()


def _httpx_async(url: str) -> Any:
    import asyncio

    import httpx

    async def get() -> Any:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, timeout=30)).json()

    return asyncio.run(get())


def _urllib3(url: str) -> Any:
    import urllib3

    return json.loads(urllib3.PoolManager().request("GET", url, timeout=30).data)


def _urllib(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return json.loads(reply.read())


CALLS: dict[str, Callable[[str], Any]] = {
    "requests": _requests, "httpx": _httpx, "httpx-async": _httpx_async, "urllib3": _urllib3,
    "urllib": _urllib}


def client_spans(spans: Spans) -> list[ReadableSpan]:
    return [s for s in spans.all() if s.kind is SpanKind.CLIENT]


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


@pytest.mark.parametrize("library", CALLS)
def test_a_call_continues_the_trace_in_the_other_service(
        library: str, callee: Service, receiver: OtlpHttpReceiver, spans: Spans) -> None:
    with tracekit.span("caller"):
        reply = CALLS[library](callee.url(f"/hello/?via={library}"))
    # One CLIENT span per call (requests runs on urllib3: not two), under the caller.
    [client] = client_spans(spans)
    assert client.instrumentation_scope is not None
    scope = library.removesuffix("-async")
    assert client.instrumentation_scope.name == f"opentelemetry.instrumentation.{scope}"
    caller = spans.named("caller")
    assert client.parent is not None and caller.context is not None
    assert client.parent.span_id == caller.context.span_id
    trace_id, client_id = hex_ids(client)
    assert reply["traceparent"].split("-")[1:3] == [trace_id, client_id]
    assert reply["trace_id"] == trace_id
    # The callee's server span, exported by the other process: same trace, child of ours.
    server = server_span(receiver, trace_id, "callee")
    assert server.parent_span_id == client_id
    # ... and the view that answered runs under it.
    receiver.wait_for(lambda received: any(s.span_id == reply["span_id"] for s in received))
    [view] = [s for s in receiver.spans if s.span_id == reply["span_id"]]
    assert view.parent_span_id == server.span_id


def test_service_to_service_through_two_servers(
        relay: Service, callee: Service, receiver: OtlpHttpReceiver, spans: Spans) -> None:
    to = quote(callee.url("/hello/"), safe="")
    with tracekit.span("caller"):
        reply = _urllib(relay.url(f"/relay/?to={to}"))
    [client] = client_spans(spans)
    trace_id, client_id = hex_ids(client)
    relay_server = server_span(receiver, trace_id, "relay")
    callee_server = server_span(receiver, trace_id, "callee")
    assert relay_server.parent_span_id == client_id
    # The relay's own outgoing call (requests), exported by the relay process.
    receiver.wait_for(lambda received: any(
        s.span_id == callee_server.parent_span_id for s in received))
    [relay_client] = [s for s in receiver.spans if s.span_id == callee_server.parent_span_id]
    assert relay_client.kind == KIND_CLIENT
    assert relay_client.scope == "opentelemetry.instrumentation.requests"
    assert relay_client.resource["service.name"] == "relay"
    assert relay_client.trace_id == trace_id
    assert reply["callee"]["trace_id"] == reply["trace_id"] == trace_id
    # The exporters' own POSTs to the receiver were never spans, in either process.
    assert not [s for s in receiver.spans if "/v1/traces" in str(
        s.attributes.get("http.url", s.attributes.get("url.full", "")))]


@pytest.mark.parametrize("library", CALLS)
def test_no_span_and_no_traceparent_outside_a_trace(library: str, callee: Service,
                                                    spans: Spans) -> None:
    reply = CALLS[library](callee.url("/hello/"))
    assert client_spans(spans) == []
    assert reply["traceparent"] is None  # the callee starts its own trace


SAMPLED_OUT = """
import requests
import django_tracekit as tracekit
with tracekit.span("caller") as span:
    reply = requests.get(os.environ["TK_URL"], timeout=30).json()
    assert not span.is_recording()
    print(json.dumps({"trace_id": format(span.get_span_context().trace_id, "032x"),
                      "reply": reply}))
"""


def test_a_sampled_out_trace_propagates_its_decision(callee: Service) -> None:
    result = check(run_django(SAMPLED_OUT, {"TRACEKIT": {
        "SAMPLE_RATE": 0.0, "STATS": {"ENABLED": False}, "TRACES": {"ENABLED": False},
        "AUTOTRACE": {"INCLUDE": []}}}, env={"TK_URL": callee.url("/hello/")}))
    out = json.loads(result.stdout.strip().splitlines()[-1])
    _, trace_id, _, flags = out["reply"]["traceparent"].split("-")
    # Same trace, "not sampled": the callee does not sample it either.
    assert trace_id == out["trace_id"] == out["reply"]["trace_id"]
    assert int(flags, 16) & 1 == 0


def test_turned_on_once_by_tracekit(callee: Service) -> None:
    status = instrumentors.install()
    assert {k: v for k, v in status.items() if k != "urllib.request"} == {
        "requests": "tracekit", "httpx": "tracekit", "urllib3": "tracekit"}
    # urllib.request: at its first open (an earlier test of this process may have made it).
    assert status["urllib.request"] in ("on first use", "tracekit")
    _urllib(callee.url("/hello/"))
    assert instrumentors.status["urllib.request"] == "tracekit"
    assert instrumentors.install() == instrumentors.status  # idempotent
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    assert RequestsInstrumentor().is_instrumented_by_opentelemetry


@pytest.mark.parametrize("library", ["requests", "httpx", "urllib3", "urllib"])
def test_a_failed_call_is_recorded_once_on_its_client_span(library: str, spans: Spans) -> None:
    """Issue 21 item 11: a refused connection is one stack, on the CLIENT span where it was
    first seen; the function it escapes into gets ERROR status and a reference to it."""
    from tests.support.processes import free_port

    url = f"http://127.0.0.1:{free_port()}/closed"  # nothing listens: connection refused

    @tracekit.traced
    def fetch_prices() -> Any:
        return CALLS[library](url)

    with pytest.raises(Exception) as raised, tracekit.span():
        fetch_prices()
    finished = spans.all()
    with_stack = [s for s in finished for e in s.events if e.name == "exception"]
    assert len(with_stack) == 1, [(s.name, s.kind) for s in with_stack]
    [client] = with_stack
    assert client.kind is SpanKind.CLIENT
    stack = next(e for e in client.events if e.name == "exception").attributes
    assert stack is not None and "fetch_prices" in str(stack["exception.stacktrace"])
    caller = next(s for s in finished if s.name.endswith("fetch_prices"))
    assert caller.status.is_ok is False
    assert caller.attributes is not None
    assert caller.attributes["tracekit.error.span_id"] == format(client.context.span_id, "016x")
    assert caller.attributes["error.type"] == stack["exception.type"]
    assert raised.value is not None
