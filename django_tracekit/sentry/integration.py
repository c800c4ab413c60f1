"""Sentry as an integration: a destination of errors, once each, sampled or not."""

from __future__ import annotations

import sys

from django_tracekit.integrations.base import Integration


class SentryIntegration(Integration):
    identifier = "sentry"
    role = "destination"
    requires = ("sentry_sdk",)
    extra = "sentry"

    def refusal(self) -> str | None:
        if not self.config.sentry_dsn and "sentry_sdk" not in sys.modules:
            return ("no DSN (TRACEKIT['SENTRY']['DSN'] or SENTRY_DSN) and no Sentry SDK "
                    "initialised by the application")
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.integrations import sentry

        sentry.install(self.config)
