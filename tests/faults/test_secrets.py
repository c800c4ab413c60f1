"""Issue 12 item 10: no secret reaches OTLP or Sentry, by default and with CAPTURE_LOCALS on.

A real gunicorn serves tests/sentry/project; its spans go over the real OTLP exporter to a
local receiver, its Sentry events over the SDK's real HTTP transport to a local endpoint.
The failing view (``views.leaky``) holds secrets the way real views do: the request (query
string in its repr), its body, the QueryDict, a list of pairs, a nested dict, and locals
named outside the classic pattern (``pw_from_form``, ``passphrase``).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sentry.envelopes import SentryReceiver
from tests.sentry.helpers import KIND_SERVER, Server, process_env
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

pytestmark = pytest.mark.requires("sentry_sdk", "opentelemetry.exporter.otlp")

SECRETS = {
    "query": "q-token-secret",
    "access_key_header": "hdr-access-secret",
    "authorization": "hdr-auth-secret",
    "pw_from_form": "form-pw-secret",
    "passphrase": "form-phrase-secret",
    "password": "form-password-secret",
    "pin": "form-pin-secret",
}
VISIBLE_HEADER = "visible-header"
VISIBLE_FIELD = "visible-note"
VISIBLE_LOCAL = "visible-local-value"
CAPTURED_HEADERS = "x-access-key,authorization,x-visible"


@pytest.fixture(scope="module", params=["default", "capture_locals"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[tuple[str, Server, SentryReceiver, OtlpHttpReceiver]]:
    mode = str(request.param)
    log_dir: Path = tmp_path_factory.mktemp(f"secrets-{mode}")
    with OtlpHttpReceiver() as otlp, SentryReceiver() as sentry:
        env = process_env(otlp.endpoint, TK_SENTRY_DSN=sentry.dsn,
                          TK_CAPTURE_LOCALS="1" if mode == "capture_locals" else "0",
                          OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST=CAPTURED_HEADERS)
        server = Server(f"secrets-{mode}", env, log_dir)
        try:
            server.wait_ready()
            yield mode, server, sentry, otlp
        finally:
            server.stop()


def _leak(server: Server) -> str:
    form = urllib.parse.urlencode({
        "pw_from_form": SECRETS["pw_from_form"], "passphrase": SECRETS["passphrase"],
        "password": SECRETS["password"], "pin": SECRETS["pin"], "note": VISIBLE_FIELD,
    }).encode()
    reply = server.request(f"/leaky/?token={SECRETS['query']}", method="POST", data=form,
                           headers={
                               "Content-Type": "application/x-www-form-urlencoded",
                               "X-Access-Key": SECRETS["access_key_header"],
                               "Authorization": f"Bearer {SECRETS['authorization']}",
                               "X-Visible": VISIBLE_HEADER,
                           })
    assert reply.status == 500
    return reply.marker


def _spans_of(otlp: OtlpHttpReceiver, marker: str) -> list[ReceivedSpan]:
    def root(span: ReceivedSpan) -> bool:
        return span.kind == KIND_SERVER and marker in str(span.attributes.get("url.query", ""))

    def complete(spans: list[ReceivedSpan]) -> bool:
        roots = [s for s in spans if root(s)]
        # The view span (the one holding the stack) ends before the server span: both there.
        return bool(roots) and any(s.trace_id == roots[0].trace_id and s.exceptions
                                   for s in spans)

    spans = otlp.wait_for(complete)
    trace_id = next(s for s in spans if root(s)).trace_id
    return [s for s in spans if s.trace_id == trace_id]


def _span_text(spans: list[ReceivedSpan]) -> str:
    return json.dumps([[s.name, s.attributes, s.status_message, s.events] for s in spans],
                      default=str)


def test_no_secret_reaches_otlp_or_sentry(deployment):
    mode, server, sentry, otlp = deployment
    marker = _leak(server)
    events = sentry.wait_events(
        lambda e: marker in str((e.get("request") or {}).get("query_string", "")), settle_s=0)
    sentry_text = b"\n".join(sentry.raw_bodies).decode("utf-8", "replace")
    otlp_text = _span_text(_spans_of(otlp, marker))
    for where, text in (("Sentry", sentry_text), ("OTLP", otlp_text)):
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} reached {where} ({mode})"
    # What was captured is really there (the checks above are about redaction, not absence).
    request = events[0]["request"]
    assert request["headers"]["X-Visible"] == VISIBLE_HEADER
    assert request["headers"]["X-Access-Key"] == "[redacted]"
    assert request["data"]["note"] == VISIBLE_FIELD
    assert request["data"]["pin"] == "[redacted]"
    assert '"http.request.header.x-visible": ["visible-header"]' in otlp_text
    assert '"http.request.header.x-access-key": ["[redacted]"]' in otlp_text
    if mode == "capture_locals":
        assert VISIBLE_LOCAL in otlp_text
        assert VISIBLE_LOCAL in sentry_text
        assert "visible-name" in otlp_text and "visible-name" in sentry_text
        assert VISIBLE_FIELD in otlp_text  # the form's harmless field, from the QueryDict
    else:
        assert VISIBLE_LOCAL not in otlp_text + sentry_text
