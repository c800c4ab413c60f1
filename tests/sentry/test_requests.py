"""Django requests served by gunicorn: errors reach Sentry once, linked to their trace.

Every test talks real HTTP to a gunicorn subprocess whose tracekit exports spans over OTLP
to a local receiver and whose Sentry SDK sends envelopes over HTTP to a local endpoint.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import pytest

from tests.sentry.envelopes import exception_frames, thread_frames
from tests.sentry.helpers import KIND_SERVER, event_for
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

pytestmark = pytest.mark.requires("sentry_sdk", "opentelemetry.exporter.otlp")

VIEWS = "tests.sentry.project.views"
BOOM_FEATURE = "tests/sentry/project/views/boom"


def server_span(otlp: OtlpHttpReceiver, marker: str) -> ReceivedSpan:
    def mine(span: ReceivedSpan) -> bool:
        return span.kind == KIND_SERVER and marker in str(span.attributes.get("url.query", ""))
    found = [s for s in otlp.wait_for(lambda spans: any(mine(s) for s in spans)) if mine(s)]
    assert len(found) == 1, found
    return found[0]


def mechanism(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event["exception"]["values"][-1]["mechanism"])


# Both setups: tracekit initialises Sentry (SDK defaults: DjangoIntegration, LoggingIntegration,
# DedupeIntegration...), or the application did (Django + Logging integrations, no Dedupe, Sentry
# tracing on): only tracekit's rule keeps the second one at one event per error.
SETUPS = ["tracekit", "app_client"]


@pytest.mark.parametrize("setup", SETUPS)
def test_view_error_is_one_event_linked_to_the_request_span(deploy, otlp, setup):
    d = deploy(setup)
    reply = d.server.request("/boom/")
    assert reply.status == 500
    # Waits for the first event, then 1 s more: Django's got_request_exception (Sentry's
    # DjangoIntegration) and django.request's log record (LoggingIntegration) see the same
    # exception right after tracekit; their events would arrive within that second.
    events = d.sentry.wait_events(event_for(reply.marker))
    assert len(events) == 1, [mechanism(e) for e in events]
    event = events[0]
    span = server_span(otlp, reply.marker)
    # The request failed with the error: its SERVER span is where it became an incident
    # (the event links to it); the stack is on the view span that raised it, referred to.
    assert event["contexts"]["trace"]["trace_id"] == span.trace_id
    assert event["contexts"]["trace"]["span_id"] == span.span_id
    assert span.attributes["tracekit.error.incident"] is True
    holder = span.attributes["tracekit.error.span_id"]
    [view] = [s for s in otlp.wait_for(lambda spans: any(s.span_id == holder for s in spans))
              if s.span_id == holder]
    assert view.exceptions[0]["exception.type"] == f"{VIEWS}.PaymentDeclined"
    assert mechanism(event) == {"type": "django_tracekit", "handled": False}
    assert event["tags"]["tracekit.feature"] == BOOM_FEATURE
    assert event["tags"]["tracekit.kind"] == "request"
    assert event["tags"]["service.name"] == "tracekit-sentry-tests"
    assert event["tags"]["tracekit.sampled"] == "true"
    assert event["exception"]["values"][-1]["value"] == "card declined for 42"


def test_event_has_sentry_frames_and_the_caller_stack(deploy):
    d = deploy("tracekit")
    reply = d.server.request("/boom/")
    event = d.sentry.wait_events(event_for(reply.marker), settle_s=0)[0]
    frames = exception_frames(event)
    # Sentry's own exception stack (what it groups by): catch point -> raise point, the
    # project's frames marked in-app, no local variable values (CAPTURE_LOCALS is off).
    assert [(f["module"], f["function"], f["in_app"]) for f in frames[-2:]] == [
        (VIEWS, "boom", True), (VIEWS, "_charge", True)]
    assert frames[-1]["context_line"].strip().startswith("raise PaymentDeclined")
    assert not any(f["module"].startswith("gunicorn") for f in frames)
    # The crashed thread's stack: the callers above the recording point (gunicorn's worker,
    # Django's handler) followed by the same traceback: the span's full picture.
    stack = thread_frames(event)
    modules = [f["module"] for f in stack]
    assert "gunicorn.workers.sync" in modules
    assert "django.core.handlers.base" in modules
    assert [(f["function"], f["in_app"]) for f in stack[-2:]] == [("boom", True), ("_charge", True)]
    assert all(f["in_app"] is False for f in stack if f["module"].startswith("gunicorn"))
    assert not any("vars" in f for f in frames + stack)


def test_no_pii_and_tracekit_redaction(deploy):
    d = deploy("tracekit")
    form = urllib.parse.urlencode({"card_token": "form-secret", "password": "pw-secret",
                                   "note": "visible-note"}).encode()
    reply = d.server.request("/secret/?api_key=query-secret", method="POST", data=form, headers={
        "Authorization": "Bearer tok-AUTH-secret",
        "Cookie": "sessionid=cookie-secret; theme=dark",
        "X-Service-Token": "hdr-secret",
        "X-Request-Source": "visible-header",
        "Content-Type": "application/x-www-form-urlencoded",
    })
    assert reply.status == 500
    event = d.sentry.wait_events(event_for(reply.marker), settle_s=0)[0]
    text = json.dumps(event)
    for secret in ("tok-AUTH-secret", "cookie-secret", "hdr-secret", "form-secret",
                   "pw-secret", "query-secret", "alice@example.com"):
        assert secret not in text, secret
    request = event["request"]
    # The request was captured (so the assertions above are about redaction, not absence)...
    assert request["headers"]["X-Request-Source"] == "visible-header"
    assert request["data"]["note"] == "visible-note"
    # ...and tracekit's rule (is_secret_name) covered what the SDK's own scrubber does not.
    assert request["headers"]["X-Service-Token"] == "[redacted]"
    assert request["data"]["card_token"] == "[redacted]"
    assert "api_key=%5Bredacted%5D" in request["query_string"]
    assert "cookies" not in request
    assert not event.get("user")  # send_default_pii stays off: the logged-in user is not sent


@pytest.mark.parametrize("setup", SETUPS)
def test_error_seen_first_by_sentrys_django_integration_is_adopted_once(deploy, otlp, setup):
    # A middleware fails outside any view span: Django's got_request_exception reaches
    # Sentry's receiver (connected at sentry init) before tracekit's; the SDK's event is
    # adopted (linked, tagged) and tracekit does not send a second one.
    d = deploy(setup)
    reply = d.server.request("/mw-boom/")
    assert reply.status == 500
    events = d.sentry.wait_events(event_for(reply.marker))
    assert len(events) == 1, [mechanism(e) for e in events]
    event = events[0]
    span = server_span(otlp, reply.marker)
    assert mechanism(event)["type"] == "django"
    assert event["contexts"]["trace"]["trace_id"] == span.trace_id
    assert event["contexts"]["trace"]["span_id"] == span.span_id
    assert event["tags"]["tracekit.feature"] == (
        "tests/sentry/project/middleware/RaiseOnPathMiddleware/__call__")
    assert event["tags"]["tracekit.kind"] == "request"
    assert thread_frames(event)[-1]["function"] == "__call__"
    assert span.exceptions[0]["exception.type"] == (
        "tests.sentry.project.middleware.MiddlewareFailed")


@pytest.mark.parametrize("setup", SETUPS)
def test_record_error_plus_manual_capture_is_one_handled_event(deploy, otlp, setup):
    d = deploy(setup)
    reply = d.server.request("/handled/")
    assert reply.status == 200
    events = d.sentry.wait_events(event_for(reply.marker))
    assert len(events) == 1, [mechanism(e) for e in events]
    event = events[0]
    root = server_span(otlp, reply.marker)
    view = next(s for s in otlp.wait_for(lambda spans: True, 1)
                if s.trace_id == root.trace_id and s.parent_span_id == root.span_id)
    assert mechanism(event) == {"type": "django_tracekit", "handled": True}
    assert event["contexts"]["trace"]["span_id"] == view.span_id  # the view span records it
    assert event["tags"]["tracekit.feature"] == view.name == "tests/sentry/project/views/handled"
    assert event["tags"]["tracekit.kind"] == "function"


def test_sampled_out_errors_are_still_forwarded(deploy, otlp):
    d = deploy("sampled_out")  # SAMPLE_RATE 0.0
    # A caller that did not sample (traceparent flags 00): we know the trace id in advance.
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    reply = d.server.request("/boom/", headers={"traceparent": f"00-{trace_id}-{parent}-00"})
    assert reply.status == 500
    events = d.sentry.wait_events(event_for(reply.marker))
    assert len(events) == 1
    event = events[0]
    assert event["contexts"]["trace"]["trace_id"] == trace_id
    assert len(event["contexts"]["trace"]["span_id"]) == 16
    assert event["contexts"]["trace"]["span_id"] != parent
    # Same tags as a sampled request (derived from the code, not from the missing span).
    assert event["tags"]["tracekit.feature"] == BOOM_FEATURE
    assert event["tags"]["tracekit.kind"] == "request"
    assert event["tags"]["tracekit.sampled"] == "false"
    # A root request under rate 0.0: no caller ids, still one event with a trace id.
    root = d.server.request("/boom/")
    root_events = d.sentry.wait_events(event_for(root.marker))
    assert len(root_events) == 1
    root_trace = root_events[0]["contexts"]["trace"]["trace_id"]
    assert len(root_trace) == 32 and root_trace != "0" * 32
    # A barrier: a request whose caller sampled it is exported (parent-based sampling) by the
    # same single worker's batch processor, after anything the requests above made.
    sampled = d.server.request("/handled/", headers={
        "traceparent": "00-5bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b8-01"})
    server_span(otlp, sampled.marker)
    assert not [s for s in otlp.spans if s.trace_id in (trace_id, root_trace)]


def test_application_client_is_used_not_reinitialised(deploy):
    d = deploy("app_client")
    reply = d.server.request("/boom/")
    event = d.sentry.wait_events(event_for(reply.marker), settle_s=0)[0]
    # The application's environment (tracekit's would be "tk-env"): its client sent this.
    assert event["environment"] == "app-env"
    assert sorted(event["sdk"]["integrations"]) == ["django", "logging"]
    # The team's Sentry tracing keeps working next to tracekit (transactions still sent).
    deadline = time.monotonic() + 10
    while not [t for t in d.sentry.items("transaction")
               if reply.marker in str(t.get("request", {}).get("query_string", ""))]:
        assert time.monotonic() < deadline, d.sentry._summary()
        time.sleep(0.1)
