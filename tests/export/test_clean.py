"""Issue 21 item 2: one lone surrogate never drops an OTLP batch.

The real OTLP/HTTP exporter, behind tracekit's processor, sends to a local receiver: 100
normal spans and one holding a lone surrogate in its exception message, an attribute, an
event and its status; all 101 arrive (before: 0 of 101, "Failed to encode span batch")."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import Status, StatusCode

from django_tracekit.core.errors import record_error
from django_tracekit.destinations.export import clean
from django_tracekit.destinations.export.processors import BoundedBatchSpanProcessor
from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.test_exporters import HTTP, finished_spans, http_exporter

LONE = "\ud800"  # a lone surrogate: what surrogateescape or a JSON "\ud800" produce


def _poisoned_span(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span(f"poisoned{LONE}", record_exception=False,
                                      set_status_on_exception=False) as span:
        span.set_attribute("user.name", f"name{LONE}")
        span.set_attribute("tags", ["ok", f"bad{LONE}"])
        span.add_event("log", {"log.message": f"message{LONE}"})
        try:
            raise ValueError(f"bad input {LONE}")
        except ValueError as exc:
            record_error(exc, span)
        span.set_status(Status(StatusCode.ERROR, f"status{LONE}"))


@pytest.mark.requires(HTTP)
@pytest.mark.django_db
def test_a_lone_surrogate_does_not_drop_the_batch() -> None:
    with OtlpHttpReceiver() as receiver:
        processor = BoundedBatchSpanProcessor(http_exporter(receiver.endpoint),
                                              max_export_batch_size=512)
        provider = TracerProvider(resource=Resource({"service.name": f"svc{LONE}"}),
                                  shutdown_on_exit=False)
        provider.add_span_processor(processor)
        tracer = provider.get_tracer("tests")
        for i in range(50):
            tracer.start_span(f"normal-{i}").end()
        _poisoned_span(provider)
        for i in range(50, 100):
            tracer.start_span(f"normal-{i}").end()
        assert processor.force_flush(10_000)
        spans = receiver.wait_for_spans(101)
        provider.shutdown()
    names = {s.name for s in spans}
    assert {f"normal-{i}" for i in range(100)} <= names
    poisoned = next(s for s in spans if s.name.startswith("poisoned"))
    assert poisoned.name == "poisoned\ufffd"
    assert poisoned.attributes["user.name"] == "name\ufffd"
    assert poisoned.attributes["tags"] == ["ok", "bad\ufffd"]
    assert poisoned.status_message == "status\ufffd"
    assert poisoned.exceptions[0]["exception.message"] == "bad input \ufffd"
    assert poisoned.resource["service.name"] == "svc\ufffd"
    assert ("log", {"log.message": "message\ufffd"}) in poisoned.events


def test_clean_spans_pass_through_untouched() -> None:
    spans = finished_spans(3)
    assert clean.encodable(spans) is spans  # nothing copied when nothing needs it
    accented = finished_spans(1)[0]
    assert not clean.needs_cleaning(accented)


def test_only_the_span_that_needs_it_is_copied() -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    tracer = provider.get_tracer("tests")
    good = tracer.start_span("caf\u00e9 \U0001f600")  # non-ASCII, encodable: kept as is
    good.end()
    bad = tracer.start_span("x", attributes={f"key{LONE}": 1})
    bad.end()
    assert isinstance(good, ReadableSpan) and isinstance(bad, ReadableSpan)
    out = clean.encodable([good, bad])
    assert out[0] is good
    assert out[1] is not bad and dict(out[1].attributes or {}) == {"key\ufffd": 1}
    assert out[1].context == bad.context and out[1].end_time == bad.end_time
