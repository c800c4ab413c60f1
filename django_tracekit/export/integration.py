"""Export as an integration: a remote destination, bounded at exit."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class ExportIntegration(Integration):
    identifier = "export"
    role = "destination"

    def refusal(self) -> str | None:
        if self.config.exporters == ("none",):
            return ("EXPORTER is 'none' (no OTLP endpoint configured: set OTLP_ENDPOINT or "
                    "OTEL_EXPORTER_OTLP_ENDPOINT to export)")
        return super().refusal()
