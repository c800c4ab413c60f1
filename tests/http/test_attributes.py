"""In-process unit tests of http/attributes.py: semconv attributes from the raw environ,
header capture by the OTel env conventions."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from django_tracekit.sources.http.attributes import (
    HeaderCapture,
    _split_host,
    method_of,
    request_attributes,
)

PREFIX = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_"


@pytest.mark.parametrize(("host", "default", "expected"), [
    ("example.com", 80, ("example.com", 80)),
    ("example.com:8080", 80, ("example.com", 8080)),
    ("example.com", 443, ("example.com", 443)),
    ("[::1]:8000", 80, ("::1", 8000)),
    ("[2001:db8::2]", 443, ("2001:db8::2", 443)),
    ("::1", 80, ("::1", 80)),  # bare IPv6: the colons are not a port separator
    ("example.com:http", 80, ("example.com", 80)),  # garbage port: the scheme's default
    ("[::1]:junk", 80, ("::1", 80)),
])
def test_split_host(host: str, default: int, expected: tuple[str, int]) -> None:
    assert _split_host(host, default) == expected


def test_request_attributes_from_the_environ() -> None:
    request = RequestFactory().get(
        "/orders/7/", {"page": "2", "access_token": "t0p"},
        HTTP_HOST="[::1]:8443", HTTP_USER_AGENT="curl/8", REMOTE_ADDR="10.0.0.9",
        HTTP_X_FORWARDED_FOR="203.0.113.5, 10.0.0.1", secure=True)
    assert request_attributes(request) == {
        "http.request.method": "GET",
        "url.scheme": "https",
        "url.path": "/orders/7/",
        "url.query": "page=2&access_token=%5Bredacted%5D",
        "server.address": "::1",
        "server.port": 8443,
        "network.peer.address": "10.0.0.9",
        "client.address": "203.0.113.5",  # the first (original) client of the chain
        "user_agent.original": "curl/8",
        "network.protocol.version": "1.1",
    }


def test_a_disallowed_host_is_reported_not_validated() -> None:
    # request.get_host() would raise DisallowedHost here; the attributes never call it.
    request = RequestFactory().get("/", HTTP_HOST="evil.example:81")
    attributes = request_attributes(request)
    assert (attributes["server.address"], attributes["server.port"]) == ("evil.example", 81)


def test_unknown_method_is_other_with_the_original_kept() -> None:
    request = RequestFactory().generic("PURGE", "/cache/")
    assert method_of(request) == "_OTHER"
    attributes = request_attributes(request)
    assert attributes["http.request.method"] == "_OTHER"
    assert attributes["http.request.method_original"] == "PURGE"
    assert "http.request.method_original" not in request_attributes(RequestFactory().get("/"))


def test_no_header_capture_unless_configured() -> None:
    capture = HeaderCapture(env={})
    request = RequestFactory().get("/", HTTP_X_HARMLESS="v")
    assert capture.request_headers(request) == {}
    assert capture.response_headers(HttpResponse()) == {}


def test_request_header_capture_by_name_and_regex() -> None:
    capture = HeaderCapture(env={PREFIX + "SERVER_REQUEST": "X-Harmless, authorization,x-id-.*"})
    request = RequestFactory().get(
        "/", HTTP_X_HARMLESS="v1", HTTP_AUTHORIZATION="Bearer s3cr3t", HTTP_X_ID_ONE="1",
        HTTP_X_OTHER="not captured", HTTP_COOKIE="a=b")
    assert capture.request_headers(request) == {
        "http.request.header.x-harmless": ["v1"],
        "http.request.header.authorization": ["[redacted]"],
        "http.request.header.x-id-one": ["1"],
    }


def test_capture_everything_still_redacts_secrets() -> None:
    capture = HeaderCapture(env={PREFIX + "SERVER_REQUEST": ".*",
                                 PREFIX + "SANITIZE_FIELDS": "x-customer-email"})
    request = RequestFactory().post("/", data="{}", content_type="application/json",
                                    HTTP_COOKIE="sessionid=s", HTTP_X_API_TOKEN="t",
                                    HTTP_X_CUSTOMER_EMAIL="a@b.c", HTTP_X_HARMLESS="ok")
    captured = capture.request_headers(request)
    assert captured["http.request.header.cookie"] == ["[redacted]"]
    assert captured["http.request.header.x-api-token"] == ["[redacted]"]
    assert captured["http.request.header.x-customer-email"] == ["[redacted]"]  # SANITIZE_FIELDS
    assert captured["http.request.header.x-harmless"] == ["ok"]
    assert captured["http.request.header.content-type"] == ["application/json"]


def test_response_header_capture_redacts_set_cookie() -> None:
    capture = HeaderCapture(env={PREFIX + "SERVER_RESPONSE": "x-served-by,set-cookie"})
    response = HttpResponse()
    response["X-Served-By"] = "web-1"
    response["X-Not-Listed"] = "no"
    response.set_cookie("a", "secret-a")
    response.set_cookie("b", "secret-b")
    assert capture.response_headers(response) == {
        "http.response.header.x-served-by": ["web-1"],
        "http.response.header.set-cookie": ["[redacted]", "[redacted]"],  # one per cookie
    }
