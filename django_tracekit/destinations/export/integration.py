"""Export as an integration: a remote destination, bounded at exit."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.checks import CheckMessage
from opentelemetry.sdk.trace import SpanProcessor

from django_tracekit.integrations.base import Integration

logger = logging.getLogger("django_tracekit")


class ExportIntegration(Integration):
    identifier = "export"
    role = "destination"

    def refusal(self) -> str | None:
        if self.config.exporters == ("none",):
            return ("EXPORTER is 'none' (no OTLP endpoint configured: set OTLP_ENDPOINT or "
                    "OTEL_EXPORTER_OTLP_ENDPOINT to export)")
        return super().refusal()

    def checks(self) -> Sequence[CheckMessage]:
        if not self.config.enabled:
            return ()
        from django_tracekit.destinations.export.processors import check_exporters

        return [problem.check_message() for problem in check_exporters(self.config)]

    # The processors (and the SDK's export module) are imported only when something is
    # exported: a process with EXPORTER "none" (the default without an endpoint) never
    # loads them (docs/PERFORMANCE.md, "Memory").
    def describe(self) -> str:
        from django_tracekit.destinations.export.processors import describe

        return "; ".join(describe(self.config, n) for n in self.config.exporters if n != "none")

    def processors(self, owns_provider: bool) -> Sequence[SpanProcessor]:
        if not owns_provider and not self.config.exporter_explicit:
            return ()  # the application's provider exports already: not twice
        from django_tracekit.destinations.export.processors import build_processors

        processors, skipped = build_processors(self.config)
        for reason in skipped:
            logger.warning("tracekit: exporter skipped: %s", reason)
        return processors
