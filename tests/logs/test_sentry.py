"""With Sentry on (tracekit's client: the SDK's default LoggingIntegration included), a
handled exception logged with ``logger.exception`` inside a span is one Sentry event, linked
to the span, however many parts see it (tracekit's log hook first, Sentry's logging
integration right after)."""

from __future__ import annotations

import json

import pytest

from tests.sentry.envelopes import SentryReceiver
from tests.support import scripts

pytestmark = pytest.mark.requires("sentry_sdk")

CODE = """
import logging, sentry_sdk
import django_tracekit as tracekit
with tracekit.span("work") as span:
    try:
        raise LookupError("no invoice for order 7")
    except LookupError:
        logging.getLogger("shop.billing").exception("billing without invoice")
sentry_sdk.flush(5)
context = span.get_span_context()
print(json.dumps({"trace": format(context.trace_id, "032x"),
                  "span": format(context.span_id, "016x")}))
"""


def test_a_logged_exception_is_one_sentry_event_linked_to_its_span() -> None:
    with SentryReceiver() as sentry:
        result = scripts.check(scripts.run_django(CODE, {"TRACEKIT": {"SENTRY": {
            "DSN": sentry.dsn}}}))
        ids = json.loads(result.stdout.strip().splitlines()[-1])
        events = sentry.wait_events(lambda e: "exception" in e)
    assert len(events) == 1, events
    (event,) = events
    assert event["exception"]["values"][-1]["type"] == "LookupError"
    assert event["contexts"]["trace"]["trace_id"] == ids["trace"]
    assert event["contexts"]["trace"]["span_id"] == ids["span"]
