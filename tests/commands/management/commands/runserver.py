"""A command named like a long-running one: never traced."""

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def handle(self, *args: Any, **options: Any) -> str:
        return "serving"
