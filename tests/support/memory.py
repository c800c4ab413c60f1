"""An in-memory span sink for in-process tests (TRACEKIT['EXPORTER'] dotted-path factory)."""

from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()


def processor() -> SpanProcessor:
    return SimpleSpanProcessor(exporter)
