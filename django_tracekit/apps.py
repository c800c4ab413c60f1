from __future__ import annotations

import importlib.util
import sys

from django.apps import AppConfig


class TracekitConfig(AppConfig):
    name = "django_tracekit"
    verbose_name = "Tracekit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_tracekit import bootstrap, checks  # noqa: F401  (registers the checks)
        from django_tracekit.conf import get_config

        config = get_config()
        # Integrations register their processors/hooks before the provider is built.
        # Each is imported only when its library is installed (and, for Sentry, in use).
        from django_tracekit import stats

        stats.install()
        if importlib.util.find_spec("celery") is not None:
            from django_tracekit.integrations import celery

            celery.install()
        bootstrap.setup(config)
        if config.sentry_dsn or "sentry_sdk" in sys.modules:
            from django_tracekit.integrations import sentry

            sentry.install(config)
