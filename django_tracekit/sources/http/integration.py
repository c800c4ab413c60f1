"""Incoming requests as an integration: the middleware's server span and the view span."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.checks import CheckMessage

from django_tracekit.integrations.base import Integration
from django_tracekit.sources.http.checks import check_middleware


class HttpServerIntegration(Integration):
    identifier = "http_server"
    role = "source"

    def checks(self) -> Sequence[CheckMessage]:
        return check_middleware()

    def setup_once(self) -> None:
        # Django's 4xx exceptions are outcomes already (errors.py): nothing to declare.
        from django_tracekit.core.propagation_logs import limit_propagation_logs
        from django_tracekit.sources.http import view_spans as views

        views.install()
        limit_propagation_logs()

    def configure(self) -> None:
        from django_tracekit.sources.http import excluded

        excluded.configure(self.config.excluded_urls)  # each request reads it there
