from __future__ import annotations

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
        from django_tracekit import bootstrap
        from django_tracekit.conf import get_config

        bootstrap.setup_early(get_config())

    def ready(self) -> None:
        # Every integration of the registry that is on (django_tracekit.integrations), then
        # the TracerProvider; each integration imports its library only when it is on.
        from django_tracekit import bootstrap, checks  # noqa: F401  (registers the checks)
        from django_tracekit.conf import get_config

        bootstrap.setup(get_config())
