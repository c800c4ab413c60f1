"""Celery as an integration: task publish (PRODUCER) and execution (CONSUMER) spans."""

from __future__ import annotations

import logging
import sys

from django_tracekit.core import errors
from django_tracekit.core.first_import import after_first_import
from django_tracekit.integrations.base import Integration

logger = logging.getLogger("django_tracekit")


class CeleryIntegration(Integration):
    identifier = "celery"
    role = "source"
    requires = ("celery",)
    extra = "celery"

    def setup_once(self) -> None:
        # At Celery's first import: a process that never loads Celery (a web process of a
        # project without tasks) does not pay its ~18k objects in every full collection.
        after_first_import("celery", self._install)

    def _install(self) -> None:
        from django_tracekit.core.propagation_logs import limit_propagation_logs

        try:
            from django_tracekit.sources.celery import tracing

            tracing.install()
            tracing.configure(self.config.celery)
            errors.register_expected(*self.expected_exceptions())
            limit_propagation_logs()  # task headers carry traceparent too
        except Exception:  # from within the application's import of Celery: never raise
            logger.warning("tracekit: Celery tasks are not traced: the integration failed",
                           exc_info=True)

    def configure(self) -> None:
        if "django_tracekit.sources.celery.tracing" in sys.modules:  # else: at its install
            from django_tracekit.sources.celery import tracing

            tracing.configure(self.config.celery)  # each task reads it there

    def expected_exceptions(self) -> tuple[type[BaseException], ...]:
        # Control flow of a task, not failures (retried, ignored or rejected on purpose).
        if "celery" not in sys.modules:  # none can be raised yet; registered at the install
            return ()
        from celery.exceptions import Ignore, Reject, Retry

        return (Retry, Ignore, Reject)
