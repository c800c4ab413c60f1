"""A command whose handle opens spans of its own."""

from typing import Any

from django.core.management.base import BaseCommand

import django_tracekit as tracekit


class Command(BaseCommand):
    def handle(self, *args: Any, **options: Any) -> str:
        with tracekit.span() as own:  # the span of the enclosing function: the command's
            own.set_attribute("steps.count", 1)
        with tracekit.span("steps/load"):
            pass
        return "ok"
