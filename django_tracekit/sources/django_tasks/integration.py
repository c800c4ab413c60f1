"""``django.tasks`` as an integration (Django 6.0+): task enqueue and execution spans."""

from __future__ import annotations

import django

from django_tracekit.integrations.base import Integration, importable


class DjangoTasksIntegration(Integration):
    identifier = "django_tasks"
    role = "source"

    def refusal(self) -> str | None:
        if not importable("django.tasks"):
            return (f"django.tasks is not available: it comes with Django 6.0 "
                    f"(this is Django {django.get_version()})")
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.sources.django_tasks import tracing

        tracing.install()
