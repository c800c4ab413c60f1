"""Exporters for the exit tests: what a collector that never answers looks like to the SDK,
without needing the OTLP extra (so the core profile, on every Python, runs them too)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

# Set once an export has begun (and hangs): what a test waits for before it exits.
EXPORT_STARTED = threading.Event()


class HangingExporter(SpanExporter):
    """Every export blocks until shutdown (a black-holed collector with no timeout)."""

    def __init__(self) -> None:
        self._released = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        EXPORT_STARTED.set()
        self._released.wait()
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._released.set()


def hanging() -> HangingExporter:
    return HangingExporter()
