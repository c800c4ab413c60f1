"""Django template renders as an integration: a span per render worth keeping."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class TemplatesIntegration(Integration):
    identifier = "templates"
    role = "source"

    def setup_once(self) -> None:
        from django_tracekit.sources.templating import spans

        spans.install()

    def configure(self) -> None:
        from django_tracekit.sources.templating import spans

        spans.configure(self.config.autotrace.min_duration_ms)  # each render reads it there
