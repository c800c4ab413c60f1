"""Sentry as an integration: a destination of errors, once each, sampled or not."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.core.checks import CheckMessage

from django_tracekit.destinations.sentry.checks import check_sentry, sentry_wanted
from django_tracekit.integrations.base import Integration


class SentryIntegration(Integration):
    identifier = "sentry"
    role = "destination"
    requires = ("sentry_sdk",)
    extra = "sentry"

    def refusal(self) -> str | None:
        if not sentry_wanted(self.config):
            return ("no DSN (TRACEKIT['SENTRY']['DSN'] or SENTRY_DSN) and no Sentry client "
                    "initialised by the application")
        return super().refusal()

    def checks(self) -> Sequence[CheckMessage]:
        return check_sentry(self.config)

    def setup_once(self) -> None:
        from django_tracekit.destinations.sentry.client import install

        install(self.config)

    def configure(self) -> None:
        # Settings changed (tests): the event's links follow; the client stays as installed.
        from django_tracekit.destinations.sentry import state

        if state.current is not None:
            state.current = dataclasses.replace(
                state.current, trace_url=self.config.trace_url,
                store_enabled=self.config.traces.enabled)
