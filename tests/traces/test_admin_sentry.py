"""A Sentry event says where to open its trace: the admin's trace explorer (absolute when the
recording span carries its request's scheme and host), and TRACE_URL's backend when set.
Fresh processes (Sentry and tracing are set up once per process) sending through the real
Sentry SDK transport to a local endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sentry.envelopes import SentryReceiver
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires("sentry_sdk")

ADMIN_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
              "django.contrib.sessions", "django.contrib.messages", "django_tracekit"]

# One error recorded on a request's span (scheme and host known), one on a function span.
RECORD = """
django.setup()
from opentelemetry import trace
from opentelemetry.trace import SpanKind
import django_tracekit as tracekit
tracer = trace.get_tracer("django_tracekit")
ids = {}
with tracer.start_as_current_span("GET /pay/", kind=SpanKind.SERVER, attributes={
        "url.scheme": "https", "server.address": "shop.example", "server.port": 8443}) as s:
    try:
        raise KeyError("in a request")
    except KeyError as exc:
        tracekit.record_error(exc)
    ids["request"] = format(s.get_span_context().trace_id, "032x")
with tracer.start_as_current_span("shop/tasks/pay") as s:
    try:
        raise ValueError("in a task")
    except ValueError as exc:
        tracekit.record_error(exc)
    ids["task"] = format(s.get_span_context().trace_id, "032x")
print(json.dumps(ids))
"""


def _events(settings: dict[str, Any]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    with SentryReceiver() as sentry:
        # The trace store on (run_django turns it off by default): its page is the link.
        tracekit = {"EXPORTER": "none", "SENTRY": {"DSN": sentry.dsn},
                    "TRACES": {"ENABLED": True}, **settings.pop("TRACEKIT", {})}
        result = check(run_django(RECORD, {"TRACEKIT": tracekit, **settings}, setup=False))
        ids = json.loads(result.stdout.strip().splitlines()[-1])
        events = sentry.wait_events(lambda e: len(sentry.events()) >= 2, settle_s=0)
    by_type = {e["exception"]["values"][-1]["type"]: e for e in events}
    return ids, by_type


def test_events_link_to_the_trace_explorer() -> None:
    ids, events = _events({"INSTALLED_APPS": ADMIN_APPS, "ROOT_URLCONF": "tests.urls"})
    request, task = events["KeyError"], events["ValueError"]
    assert request["contexts"]["tracekit"] == {
        "trace_page": f"https://shop.example:8443/admin/django_tracekit/trace/{ids['request']}/"}
    assert task["contexts"]["tracekit"] == {
        "trace_page": f"/admin/django_tracekit/trace/{ids['task']}/"}  # no host known
    assert request["contexts"]["trace"]["trace_id"] == ids["request"]


def test_with_trace_url_both_links_are_offered() -> None:
    ids, events = _events({
        "INSTALLED_APPS": ADMIN_APPS, "ROOT_URLCONF": "tests.urls",
        "TRACEKIT": {"TRACE_URL": "https://jaeger.example/trace/{trace_id}"}})
    assert events["ValueError"]["contexts"]["tracekit"] == {
        "trace_page": f"/admin/django_tracekit/trace/{ids['task']}/",
        "trace_url": f"https://jaeger.example/trace/{ids['task']}"}


def test_no_admin_no_store_no_link() -> None:
    # A project without the admin in its URLconf (a worker-only settings module, say).
    _ids, events = _events({"ROOT_URLCONF": "tests.sentry.project.urls"})
    assert "tracekit" not in events["KeyError"]["contexts"]
    _ids, events = _events({"INSTALLED_APPS": ADMIN_APPS, "ROOT_URLCONF": "tests.urls",
                            "TRACEKIT": {"TRACES": {"ENABLED": False}}})
    assert "tracekit" not in events["KeyError"]["contexts"]
