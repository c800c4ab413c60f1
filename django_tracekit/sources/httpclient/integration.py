"""Outgoing HTTP calls as an integration: the contrib instrumentors (extra ``http``)."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration
from django_tracekit.sources.httpclient.instrumentors import MODULES


class HttpClientIntegration(Integration):
    identifier = "http_client"
    role = "source"
    requires = MODULES  # the contrib instrumentors (imported only in setup_once)
    extra = "http"

    def refusal(self) -> str | None:
        if not self.config.http_client_enabled:
            return "TRACEKIT['HTTP_CLIENT']['ENABLED'] is False"
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.sources.httpclient import instrumentors

        instrumentors.install()
