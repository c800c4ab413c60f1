"""Issue 21 items 1, 4 and 5 against a real gunicorn, the real OTLP exporter and the real
Sentry transport (tests/sentry/project, auto-traced, ``CAPTURE_LOCALS`` on, Redis cache).

1. An object whose ``__repr__``/``__str__`` raises, in a captured local, in an exception's
   arguments or in a log call's arguments: tracekit's own formatting runs it untraced (no
   span of ``__repr__``, no second error), never recursing; the request answers at once.
   Before: ``safe_repr -> __repr__ -> on_raise -> record_error -> safe_repr -> ...`` until
   gunicorn killed the worker.
4. SQL literals and cache keys in the SDK's default breadcrumbs are as clean as spans.
5. Vendor keys and credential-shaped values are secrets in locals, OTLP and Sentry; the
   auto-tracer's own ``_tk_t`` is not a local.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sentry.envelopes import SentryReceiver, exception_frames
from tests.sentry.helpers import KIND_SERVER, Server, event_for, process_env
from tests.sentry.project import views
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import REPO

pytestmark = pytest.mark.requires("sentry_sdk", "opentelemetry.exporter.otlp", "redis")

REDIS_URL = "redis://127.0.0.1:6379/0"
REPRSHOP = REPO / "tests" / "faults" / "projects" / "reprshop"
STRIPE_KEY = "sk_" + "live_" + "51HxQ2kLmN0pQrStUvWxYz0123"  # as reprshop.billing's
GITHUB_TOKEN = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
BROKEN = "BrokenText"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[tuple[Server, SentryReceiver, OtlpHttpReceiver]]:
    log_dir: Path = tmp_path_factory.mktemp("formatting")
    with OtlpHttpReceiver() as otlp, SentryReceiver() as sentry:
        env = process_env(otlp.endpoint, TK_SENTRY_DSN=sentry.dsn, TK_CAPTURE_LOCALS="1",
                          TK_REDIS_CACHE_URL=REDIS_URL, TK_AUTOTRACE_INCLUDE="reprshop")
        env["PYTHONPATH"] = f"{REPRSHOP}{os.pathsep}{env['PYTHONPATH']}"
        server = Server("formatting", env, log_dir)
        try:
            server.wait_ready()
            # The first auto-traced call of a process ends its start-up, untraced.
            assert server.request("/reprshop-ping/").body == b"pong"
            yield server, sentry, otlp
        finally:
            server.stop()


def _trace_of(otlp: OtlpHttpReceiver, marker: str, *, errors: bool) -> list[ReceivedSpan]:
    """The spans of the request whose query carried ``marker``, once its server span and
    (``errors``) the span holding the stack are in."""
    def root(span: ReceivedSpan) -> bool:
        return span.kind == KIND_SERVER and marker in str(span.attributes.get("url.query", ""))

    def complete(spans: list[ReceivedSpan]) -> bool:
        roots = [s for s in spans if root(s)]
        return bool(roots) and (not errors or any(
            s.trace_id == roots[0].trace_id and s.exceptions for s in spans))

    spans = otlp.wait_for(complete)
    trace_id = next(s for s in spans if root(s)).trace_id
    return [s for s in spans if s.trace_id == trace_id]


def _assert_no_recursion(spans: list[ReceivedSpan]) -> None:
    """The recursion's signature is a ``BrokenText`` span inside another: tracekit recording
    the error of a ``__repr__`` ran the ``__repr__`` again, traced. What remains are the
    application's own calls (the Sentry SDK's logging handler formatting the record, the
    SDK's ``str(exc)`` then ``repr(exc)`` of the exception value), a few siblings."""
    names = [s.name for s in spans]
    assert [n for n in names if "reprshop/billing/" in n], names  # auto-traced
    broken = {s.span_id for s in spans if BROKEN in s.name}
    assert not [s.name for s in spans if BROKEN in s.name and s.parent_span_id in broken]
    assert len(broken) <= 10, names  # the recursion made hundreds
    assert len(json.dumps([s.events for s in spans], default=str)) < 100_000  # bounded


def test_raising_repr_in_a_captured_local(deployment):
    server, sentry, otlp = deployment
    reply = server.request("/broken-local/")
    assert reply.status == 500
    spans = _trace_of(otlp, reply.marker, errors=True)
    _assert_no_recursion(spans)
    # Locals are rendered by tracekit (the stack) and by the Sentry SDK through tracekit's
    # repr processor: both untraced, so the local's __repr__ is no span at all.
    assert not [s.name for s in spans if BROKEN in s.name]
    stacks = [e["exception.stacktrace"] for s in spans for e in s.exceptions]
    assert len(stacks) == 1, stacks  # recorded once, where raised
    stack = stacks[0]
    assert "widget = <BrokenText" in stack  # shown as what it is, not its failing text
    # Item 5: a vendor key by name, a token by its shape; an ordinary *_key stays visible.
    assert "stripe_key = '[redacted]'" in stack
    assert "note = 'pushed with [redacted]'" in stack
    assert "cache_key = 'visible-cache-key'" in stack
    assert "_tk_t" not in stack
    event = sentry.wait_events(event_for(reply.marker), settle_s=0)[0]
    variables = next(f["vars"] for f in exception_frames(event)
                     if f.get("function") == "charge_holding_broken")
    assert variables["stripe_key"] == "[redacted]"
    # The SDK serialises locals as their repr.
    assert variables["note"] == "'pushed with [redacted]'"
    assert variables["cache_key"] == "'visible-cache-key'"
    assert not [name for name in variables if name.startswith("_tk_")], variables
    raw = b"\n".join(sentry.raw_bodies).decode("utf-8", "replace")
    assert STRIPE_KEY not in raw and GITHUB_TOKEN not in raw
    assert STRIPE_KEY not in json.dumps([s.events for s in spans], default=str)


def test_raising_str_in_exception_arguments(deployment):
    server, _sentry, otlp = deployment
    reply = server.request("/broken-args/")
    assert reply.status == 500
    spans = _trace_of(otlp, reply.marker, errors=True)
    _assert_no_recursion(spans)
    # Besides the error, only the Sentry SDK's own str()/repr() of the exception value
    # (application code running the object's methods, not tracekit's) fails.
    exceptions = [e for s in spans if BROKEN not in s.name for e in s.exceptions]
    assert len(exceptions) == 1, exceptions
    assert exceptions[0]["exception.type"].endswith("PaymentDeclined")
    assert exceptions[0]["exception.message"] == "<exception str() failed>"


def test_raising_str_in_log_arguments(deployment):
    server, _sentry, otlp = deployment
    reply = server.request("/broken-log/")
    assert (reply.status, reply.body) == (200, b"logged")
    spans = _trace_of(otlp, reply.marker, errors=False)
    _assert_no_recursion(spans)
    # A log call is not an error (the Sentry SDK's logging handler formatting the record
    # runs the object's __str__ itself: that span is the application's, not tracekit's).
    assert not [e for s in spans if BROKEN not in s.name for e in s.exceptions]
    logs = [a for s in spans for name, a in s.events if name == "log"]
    assert [a["log.message"] for a in logs if "could not be formatted" in a["log.message"]]


def test_breadcrumbs_are_as_clean_as_spans(deployment):
    server, sentry, otlp = deployment
    reply = server.request("/crumbs/")
    assert reply.status == 500
    event = sentry.wait_events(event_for(reply.marker), settle_s=0)[0]
    crumbs = event["breadcrumbs"]["values"]
    sql = [c["message"] for c in crumbs if c.get("category") == "query"]
    assert "SELECT name FROM logins WHERE password = ?" in sql, sql
    redis = [c for c in crumbs if c.get("category") == "redis"]
    assert redis, crumbs  # the SDK's Redis integration saw the cache call
    assert all("session:[redacted]" in c["message"] for c in redis), redis
    assert all("session:[redacted]" in c["data"]["redis.key"] for c in redis), redis
    raw = b"\n".join(sentry.raw_bodies).decode("utf-8", "replace")
    assert "hunter2" not in raw
    assert views.SESSION_TOKEN not in raw
    # The spans of the same calls were already clean: the same text as the breadcrumb.
    spans = _trace_of(otlp, reply.marker, errors=True)
    texts = json.dumps([s.attributes for s in spans], default=str)
    assert "hunter2" not in texts and views.SESSION_TOKEN not in texts
    assert "WHERE password = ?" in texts
