"""Every undocumented sentry-sdk seam the integration uses, exercised against the installed SDK.

A new sentry-sdk 2.x that moves one of them makes the matching test fail here, not a silent
fallback in production. Each seam and its guard:

- ``sentry_sdk.utils.event_from_exception``: Sentry's own exception payload (no public
  equivalent that returns the event instead of sending it);
- ``sentry_sdk.utils.serialize_frame``: caller frames in Sentry's format (guarded: falls
  back to file/line/function);
- ``sentry_sdk.scope.register_external_propagation_context``: trace ids on every event, as
  the SDK's ``OTLPIntegration`` does (guarded: skipped when absent);
- ``sentry_sdk.serializer.add_global_repr_processor``: requests in frame variables;
- ``sentry_sdk.integrations.setup_integrations``: the integration on an application's client
  (guarded: ``setup_once`` is called directly);
- ``client.options["before_send"]``: redaction ahead of the application's ``before_send``.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.sentry.envelopes import SentryReceiver
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires("sentry_sdk")


def test_event_from_exception_and_serialize_frame_keep_their_signatures():
    from sentry_sdk.consts import DEFAULT_OPTIONS
    from sentry_sdk.utils import event_from_exception

    from django_tracekit.destinations.sentry import events

    error = ValueError("boom")
    try:
        raise error
    except ValueError as exc:
        event, hint = event_from_exception(exc, client_options=dict(DEFAULT_OPTIONS),
                                           mechanism={"type": "django_tracekit",
                                                      "handled": True})
    assert event["exception"]["values"][-1]["type"] == "ValueError"
    assert event["exception"]["values"][-1]["mechanism"]["type"] == "django_tracekit"
    assert hint["exc_info"][1] is error
    frame = events._build_frame(sys._getframe(), 7, True, None)
    # The SDK's serialiser ran (its fallback has no module path nor source context).
    assert frame["lineno"] == 7 and "context_line" in frame and "pre_context" in frame


def test_hooks_are_installed_once_on_an_application_client_and_link_any_event():
    with SentryReceiver() as sentry:
        result = check(run_django(f"""
            import sentry_sdk
            from opentelemetry import trace
            sentry_sdk.init(dsn="{sentry.dsn}", default_integrations=False)
            django.setup()  # tracekit's ready(): the application's client is used
            from sentry_sdk import scope, serializer
            from django_tracekit.conf import get_config
            from django_tracekit.destinations import sentry as tk_sentry
            from django_tracekit.destinations.sentry import processor, scrub
            tk_sentry.install(get_config())  # again: nothing is registered twice
            tracer = trace.get_tracer("t")
            with tracer.start_as_current_span("s") as span:
                ids = format(span.get_span_context().trace_id, "032x")
                sentry_sdk.capture_message("hello from a span")
            sentry_sdk.flush(5)
            print(json.dumps({{
                "trace_id": ids,
                "event_processors": sum(1 for p in scope.global_event_processors
                                        if p is processor.process_event),
                "repr_processors": sum(1 for p in serializer.global_repr_processors
                                       if p is scrub.repr_request),
                "before_send": getattr(sentry_sdk.get_client().options["before_send"],
                                       "_tracekit", False),
            }}))
        """, {"TRACEKIT": {"EXPORTER": "none"}}, setup=False))
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert out["event_processors"] == 1 and out["repr_processors"] == 1
        assert out["before_send"] is True
        [event] = sentry.wait_events(lambda e: e.get("message") == "hello from a span",
                                     settle_s=0)
        # The external propagation context: a plain capture_message inside an OTel span.
        assert event["contexts"]["trace"]["trace_id"] == out["trace_id"]


def test_a_changed_serialize_frame_falls_back_to_file_line_and_function(monkeypatch):
    import sentry_sdk.utils

    from django_tracekit.destinations.sentry import events

    def changed(*args: object, **kwargs: object) -> None:
        raise TypeError("unexpected keyword argument 'tb_lineno'")

    monkeypatch.setattr(sentry_sdk.utils, "serialize_frame", changed)
    here = sys._getframe()
    frame = events._build_frame(here, 7, True, None)
    assert frame == {"filename": __file__, "abs_path": __file__,
                     "function": here.f_code.co_name, "module": __name__, "lineno": 7}
