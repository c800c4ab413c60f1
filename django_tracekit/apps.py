from __future__ import annotations

from django.apps import AppConfig


class TracekitConfig(AppConfig):
    name = "django_tracekit"
    verbose_name = "Tracekit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_tracekit import bootstrap, checks  # noqa: F401  (registers the checks)
        from django_tracekit.conf import get_config

        bootstrap.setup(get_config())
