"""A command that succeeds (and writes its output)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="world")

    def handle(self, *args: Any, **options: Any) -> str:
        return f"hello {options['name']}"
