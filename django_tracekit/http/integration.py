"""Incoming requests as an integration: the middleware's server span and the view span."""

from __future__ import annotations

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404

from django_tracekit.integrations.base import Integration


class HttpServerIntegration(Integration):
    identifier = "http_server"
    role = "source"

    def setup_once(self) -> None:
        from django_tracekit.http import views

        views.install()

    def expected_exceptions(self) -> tuple[type[BaseException], ...]:
        # Django turns these into 4xx responses: outcomes, not errors.
        return (Http404, PermissionDenied, SuspiciousOperation, BadRequest)
