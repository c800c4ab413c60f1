"""Log records as span events, as an integration (a source)."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class LogsIntegration(Integration):
    identifier = "logs"
    role = "source"

    def refusal(self) -> str | None:
        if self.config.logs.level is None:
            return "TRACEKIT['LOGS']['LEVEL'] is None"
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.sources.logs import factory

        factory.install(self.config.logs.level)

    def configure(self) -> None:
        from django_tracekit.sources.logs import factory

        factory.set_level(self.config.logs.level)  # each record reads it there
