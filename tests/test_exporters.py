"""Export processors: bounded flush/shutdown against faulty collectors, the guarded use of
the OTLP exporters' retry-abort event, and the rate limit on the SDK's export logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from django_tracekit.core.logonce import RateLimitFilter
from django_tracekit.destinations.export.processors import (
    BoundedBatchSpanProcessor,
    GuardedExporter,
)
from tests.faults.exit_collectors import BlackHoledCollector, DownCollector
from tests.support.otlp_receiver import OtlpHttpReceiver

HTTP = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
GRPC = "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"


def finished_spans(count: int) -> list[ReadableSpan]:
    provider = TracerProvider(shutdown_on_exit=False)
    spans: list[ReadableSpan] = []
    tracer = provider.get_tracer("tests")
    for i in range(count):
        span = tracer.start_span(f"span-{i}")
        span.end()
        assert isinstance(span, ReadableSpan)
        spans.append(span)
    return spans


def http_exporter(endpoint: str) -> GuardedExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return GuardedExporter(lambda: OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces",
                                                    timeout=5), "OTLP http/protobuf")


@pytest.fixture
def sdk_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="opentelemetry"):
        yield caplog


# --- stop_retrying: private SDK attributes, guarded ------------------------------------------


@pytest.mark.requires(HTTP)
def test_stop_retrying_makes_one_attempt_and_exports_keep_working(
        sdk_logs: pytest.LogCaptureFixture) -> None:
    with DownCollector() as down:
        exporter = http_exporter(down.endpoint)
        # Guard: the installed exporter still has the event (else exits wait the full budget).
        assert exporter.stop_retrying() is True
        assert exporter.export(finished_spans(2)) is SpanExportResult.FAILURE
    assert not [r for r in sdk_logs.records if "retrying in" in r.getMessage()], sdk_logs.text
    with OtlpHttpReceiver() as receiver:
        live = http_exporter(receiver.endpoint)
        live.stop_retrying()
        assert live.export(finished_spans(3)) is SpanExportResult.SUCCESS
        assert len(receiver.wait_for_spans(3)) == 3
    assert live.spans_done == 3


@pytest.mark.requires(GRPC, "grpc")
def test_stop_retrying_finds_the_grpc_exporters_event() -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    exporter = GuardedExporter(lambda: OTLPSpanExporter(endpoint="127.0.0.1:9", insecure=True),
                               "OTLP grpc")
    assert exporter.stop_retrying() is True
    exporter.shutdown()


def test_stop_retrying_without_the_event_says_so() -> None:
    class Plain(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    assert GuardedExporter(Plain, "plain").stop_retrying() is False


# --- bounded flush and shutdown --------------------------------------------------------------


@pytest.mark.requires(HTTP)
def test_flush_and_shutdown_give_up_on_a_black_holed_collector_and_count_what_is_lost() -> None:
    with BlackHoledCollector() as hole:
        processor = BoundedBatchSpanProcessor(http_exporter(hole.endpoint))
        for span in finished_spans(7):
            processor.on_end(span)
        assert processor.force_flush(timeout_millis=200) is False
        assert processor.shutdown(timeout_s=0.2) is False
        assert processor.unsent() == 7


@pytest.mark.requires(HTTP)
def test_shutdown_exports_everything_to_a_live_collector() -> None:
    with OtlpHttpReceiver() as receiver:
        processor = BoundedBatchSpanProcessor(http_exporter(receiver.endpoint),
                                              schedule_delay_millis=60_000)
        for span in finished_spans(600):  # more than one batch (512)
            processor.on_end(span)
        assert processor.shutdown(timeout_s=30) is True
        assert len(receiver.spans) == 600
    assert processor.unsent() == 0


# --- rate limit on the SDK's export logs -----------------------------------------------------


def record(message: str, *args: object, name: str = HTTP) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, None)


def test_rate_limit_lets_one_line_a_minute_through_and_counts_the_rest() -> None:
    now = [1000.0]
    limit = RateLimitFilter(every_s=60, clock=lambda: now[0])
    retry = "Transient error %s encountered while exporting spans batch, retrying in %.2fs."
    assert limit.filter(record(retry, "refused", 1.0))
    passed = [limit.filter(record(retry, "refused", 2.0)) for _ in range(99)]
    assert passed.count(True) == 0
    assert limit.filter(record("Queue full, dropping %s.", "Span"))  # another message
    now[0] += 61
    again = record(retry, "refused", 4.0)
    assert limit.filter(again)
    assert again.getMessage() == (
        "Transient error refused encountered while exporting spans batch, retrying in 4.00s. "
        "(tracekit: 99 more like this in the last 61 s were not logged)")
