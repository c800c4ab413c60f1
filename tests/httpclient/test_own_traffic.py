"""tracekit's own network traffic is never traced: the OTLP exporter's POSTs and the Sentry
transport's sends run with OpenTelemetry's suppress-instrumentation key set, even where the
application instrumented requests/urllib3 itself (no in-trace rule: every call a span)."""

from __future__ import annotations

import json
import os

import pytest
from opentelemetry.sdk.trace.export import SpanExportResult

import django_tracekit as tracekit
from django_tracekit.destinations.export.processors import GuardedExporter
from django_tracekit.sources.httpclient import instrumentors
from tests.conftest import Spans
from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires(*instrumentors.MODULES, "opentelemetry.exporter.otlp")


def test_an_export_from_inside_a_trace_makes_no_span(spans: Spans) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    with OtlpHttpReceiver() as receiver:
        exporter = GuardedExporter(
            lambda: OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces"), "OTLP test")
        with tracekit.span("finished"):
            pass
        finished = spans.named("finished")
        spans.clear()
        # A flush from a request's thread (or a factory's synchronous processor) exports
        # inside the request's trace: outgoing HTTP would be traced there.
        with tracekit.span("request"):
            assert exporter.export([finished]) is SpanExportResult.SUCCESS
        assert [s.name for s in receiver.wait_for_spans(1)] == ["finished"]
        exporter.shutdown()
    assert spans.names() == ["request"]


APPLICATION_INSTRUMENTED = """
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor
# The application's own instrumentation (as opentelemetry-instrument does): a span for
# every call, inside a trace or not.
RequestsInstrumentor().instrument()
URLLib3Instrumentor().instrument()
django.setup()
import requests, urllib3
import django_tracekit as tracekit
probe = os.environ["TK_PROBE"]
requests.get(probe, timeout=30)  # the application's call outside any trace: a span
with tracekit.span("failing"):
    try:
        raise ValueError("boom")
    except ValueError as exc:
        tracekit.record_error(exc)
if os.environ.get("TK_SENTRY"):
    import sentry_sdk
    sentry_sdk.flush(10)
    urllib3.PoolManager().request("GET", probe, timeout=30)  # after the sends: one more span
print("done")
"""


def test_the_exporters_posts_are_never_spans() -> None:
    with OtlpHttpReceiver() as receiver:
        check(run_django(APPLICATION_INSTRUMENTED, {"TRACEKIT": {
            "EXPORTER": "otlp", "OTLP_ENDPOINT": receiver.endpoint,
            "AUTOTRACE": {"INCLUDE": []}}},
            env={"TK_PROBE": f"{receiver.endpoint}/probe"}, setup=False))
        spans = receiver.wait_for(lambda got: {"GET", "failing"} <= {s.name for s in got})
    urls = [s.attributes.get("http.url") for s in spans if s.name in ("GET", "POST")]
    # The probe (the application's own call) is there; no export POST ever is.
    assert urls == [f"{receiver.endpoint}/probe"]


@pytest.mark.requires("sentry_sdk")
def test_sentrys_sends_are_never_spans() -> None:
    from tests.sentry.envelopes import SentryReceiver

    with OtlpHttpReceiver() as receiver, SentryReceiver() as sentry:
        result = check(run_django(APPLICATION_INSTRUMENTED, {"TRACEKIT": {
            "EXPORTER": "otlp", "OTLP_ENDPOINT": receiver.endpoint,
            "AUTOTRACE": {"INCLUDE": []}, "SENTRY": {"DSN": sentry.dsn}}},
            env={"TK_PROBE": f"{receiver.endpoint}/probe", "TK_SENTRY": "1",
                 "PATH": os.environ["PATH"]}, setup=False))
        assert "done" in result.stdout
        events = sentry.wait_events(lambda event: "boom" in json.dumps(event))
        assert events
        spans = receiver.wait_for(
            lambda got: sum(s.name == "GET" for s in got) >= 2 and "failing" in {
                s.name for s in got})
    client = [(s.scope, s.attributes.get("http.url")) for s in spans if s.kind == 3]
    probe = f"{receiver.endpoint}/probe"
    # The application's two probes, and nothing that went to Sentry.
    assert client == [("opentelemetry.instrumentation.requests", probe),
                      ("opentelemetry.instrumentation.urllib3", probe)], client


def test_sentry_sends_are_wrapped_once_sync_or_async_and_skipped_without_the_seam() -> None:
    import asyncio
    from types import SimpleNamespace

    from opentelemetry import context

    from django_tracekit.core.vocabulary import SUPPRESS_KEY as SUPPRESS_INSTRUMENTATION_KEY
    from django_tracekit.destinations.sentry.transport import untraced_sends

    seen: list[object] = []

    class SyncTransport:
        def _send_request(self, body: bytes) -> str:
            seen.append(context.get_value(SUPPRESS_INSTRUMENTATION_KEY))
            return "sent"

    class AsyncTransport:
        async def _send_request(self, body: bytes) -> str:
            seen.append(context.get_value(SUPPRESS_INSTRUMENTATION_KEY))
            return "sent"

    sync_client = SimpleNamespace(transport=SyncTransport())
    assert untraced_sends(sync_client) and untraced_sends(sync_client)  # idempotent
    assert sync_client.transport._send_request(b"x") == "sent"
    async_client = SimpleNamespace(transport=AsyncTransport())
    assert untraced_sends(async_client)
    assert asyncio.run(async_client.transport._send_request(b"x")) == "sent"
    assert seen == [True, True]
    assert context.get_value(SUPPRESS_INSTRUMENTATION_KEY) is None  # detached after
    assert not untraced_sends(SimpleNamespace(transport=None))  # no DSN: nothing is sent
    assert not untraced_sends(SimpleNamespace(transport=object()))  # the seam is gone
