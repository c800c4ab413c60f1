"""Celery as an integration: task publish (PRODUCER) and execution (CONSUMER) spans."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class CeleryIntegration(Integration):
    identifier = "celery"
    role = "source"
    requires = ("celery",)
    extra = "celery"

    def setup_once(self) -> None:
        from django_tracekit.core.propagation_logs import limit_propagation_logs
        from django_tracekit.sources.celery import tracing

        tracing.install()
        limit_propagation_logs()  # task headers carry traceparent too

    def configure(self) -> None:
        from django_tracekit.sources.celery import tracing

        tracing.configure(self.config.celery)  # each task reads it there

    def expected_exceptions(self) -> tuple[type[BaseException], ...]:
        # Control flow of a task, not failures (retried, ignored or rejected on purpose).
        from celery.exceptions import Ignore, Reject, Retry

        return (Retry, Ignore, Reject)
