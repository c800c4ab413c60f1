from __future__ import annotations

import importlib.util
import sys
from typing import Any

from django.apps import AppConfig


class TracekitConfig(AppConfig):
    name = "django_tracekit"
    verbose_name = "Tracekit"
    default_auto_field = "django.db.models.BigAutoField"

    def __init__(self, app_name: str, app_module: Any) -> None:
        super().__init__(app_name, app_module)
        # Auto-tracing rewrites modules as they are imported, so it starts here: with
        # "django_tracekit" first in INSTALLED_APPS, before any other app's code is imported.
        # On by default (INCLUDE: the modules under BASE_DIR); AUTOTRACE INCLUDE [] turns it off.
        from django_tracekit import autotrace

        autotrace.install()

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
            from django_tracekit import sentry

            sentry.install(config)
