"""Secrets never reach an outgoing call's span: token-like query values, and no
Authorization/Cookie header (not captured by default; redacted when capture names them)."""

from __future__ import annotations

import json
import os

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

import django_tracekit as tracekit
from django_tracekit.sources.httpclient import instrumentors
from django_tracekit.sources.httpclient.redaction import redact_span
from tests.conftest import Spans
from tests.httpclient.conftest import Service
from tests.httpclient.test_instrumentors import CALLS
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires(*instrumentors.MODULES, "opentelemetry.exporter.otlp")

SECRETS = ("Zk9ab3", "hunter2", "s3ss10n", "Bearer-abc")


def url_of(span: ReadableSpan) -> str:
    attributes = dict(span.attributes or {})
    return str(attributes.get("url.full", attributes.get("http.url")))


@pytest.mark.parametrize("library", CALLS)
def test_secret_query_values_are_redacted(library: str, callee: Service, spans: Spans) -> None:
    with tracekit.span("caller"):
        CALLS[library](callee.url("/hello/?access_token=Zk9ab3&page=2&password=hunter2"))
    [client] = [s for s in spans.all() if s.kind is SpanKind.CLIENT]
    url = url_of(client)
    assert "page=2" in url and "access_token=" in url and "password=" in url
    assert "Zk9ab3" not in url and "hunter2" not in url


def test_no_header_is_captured_by_default(callee: Service, spans: Spans) -> None:
    import requests

    with tracekit.span("caller"):
        requests.get(callee.url("/hello/"), timeout=30,
                     headers={"Authorization": "Bearer-abc", "Cookie": "sessionid=s3ss10n"})
    [client] = [s for s in spans.all() if s.kind is SpanKind.CLIENT]
    assert not [k for k in (client.attributes or {}) if ".header." in k]
    assert not any(secret in repr(dict(client.attributes or {})) for secret in SECRETS)


CAPTURE = """
import json, os, requests, urllib3
import django_tracekit as tracekit
from tests.support import memory
url = os.environ["TK_URL"]
headers = {"Authorization": "Bearer-abc", "Cookie": "sessionid=s3ss10n", "X-Api-Key": "Zk9ab3",
           "X-Plain": "visible"}
with tracekit.span("caller"):
    requests.get(url, headers=headers, timeout=30)
    urllib3.PoolManager().request("GET", url, headers=headers, timeout=30)
print(json.dumps([{k: list(v) if isinstance(v, tuple) else v for k, v in s.attributes.items()}
                  for s in memory.exporter.get_finished_spans() if s.name != "caller"]))
"""


def test_captured_secret_headers_are_redacted(callee: Service) -> None:
    # The instrumentors read the capture settings when they are turned on: a process of its own.
    names = "authorization,cookie,x-api-key,x-plain"
    result = check(run_django(CAPTURE, {"TRACEKIT": {
        "EXPORTER": "tests.support.memory.processor", "AUTOTRACE": {"INCLUDE": []}}}, env={
        "TK_URL": callee.url("/hello/"), "PATH": os.environ["PATH"],
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST": names}))
    captured = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(captured) == 2  # requests, urllib3
    for attributes in captured:
        assert attributes["http.request.header.x_plain"] == ["visible"]
        for name in ("authorization", "cookie", "x_api_key"):
            assert attributes[f"http.request.header.{name}"] == ["[redacted]"], attributes
        assert not any(secret in json.dumps(attributes) for secret in SECRETS)


def test_redact_span_rewrites_urls_and_secret_headers(spans: Spans) -> None:
    with tracekit.span("outgoing", attributes={
            "url.full": "https://api.example.com/v1?token=abc&x=1",
            "http.url": "https://user:pw@api.example.com/v1?api_key=k",
            "http.request.header.authorization": ("Bearer abc",),
            "http.response.header.set_cookie": ("sid=1",),
            "http.response.header.content_type": ("text/plain",)}) as span:
        redact_span(span)
    attributes = dict(spans.named("outgoing").attributes or {})
    assert attributes["url.full"] == "https://api.example.com/v1?token=%5Bredacted%5D&x=1"
    assert attributes["http.url"] == (
        "https://user:%5Bredacted%5D@api.example.com/v1?api_key=%5Bredacted%5D")
    assert attributes["http.request.header.authorization"] == ("[redacted]",)
    assert attributes["http.response.header.set_cookie"] == ("[redacted]",)
    assert attributes["http.response.header.content_type"] == ("text/plain",)


def test_huge_urls_are_capped_after_redaction(spans: Spans) -> None:
    from django_tracekit.sources.httpclient.redaction import MAX_URL_LENGTH

    url = "https://api.example.com/v1?token=abc&" + "q=x&" * 50_000
    with tracekit.span("outgoing", attributes={"url.full": url}) as span:
        redact_span(span)
    shown = str((spans.named("outgoing").attributes or {})["url.full"])
    assert len(shown) == MAX_URL_LENGTH and shown.endswith("…")
    assert shown.startswith("https://api.example.com/v1?token=%5Bredacted%5D&q=x")
