"""Management commands as an integration: ``manage.py <command>`` as a root span."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class CommandsIntegration(Integration):
    identifier = "commands"
    role = "source"

    def refusal(self) -> str | None:
        if not self.config.commands.enabled:
            return "TRACEKIT['COMMANDS']['ENABLED'] is False"
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.sources.commands import patch

        patch.install()

    def configure(self) -> None:
        from django_tracekit.sources.commands import tracing

        tracing.configure(self.config.commands)  # each command reads it there
