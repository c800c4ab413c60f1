"""A command of the test project: a real ``manage.py`` entry point (the unused-code page
must count it as used once it ran)."""

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Refresh the catalog."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("refreshed")
