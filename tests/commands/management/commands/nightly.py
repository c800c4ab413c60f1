"""A command the tests exclude with TRACEKIT['COMMANDS']['EXCLUDE']."""

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def handle(self, *args: Any, **options: Any) -> str:
        return "nightly"
