"""SQL as an integration: every query on every database alias as a CLIENT span (a source)."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class DbIntegration(Integration):
    identifier = "db"
    role = "source"

    def refusal(self) -> str | None:
        if not self.config.db.enabled:
            return "TRACEKIT['DB']['ENABLED'] is False"
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.sources.db import install

        install.install()

    def configure(self) -> None:
        from django_tracekit.sources.db import wrapper

        wrapper.configure(self.config.db)  # each query reads it there
