"""A command that ends the way it is told: a CommandError, an exception, sys.exit(code),
KeyboardInterrupt."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("how")
        parser.add_argument("--code", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        how, code = options["how"], options["code"]
        if how == "command_error":
            raise CommandError("nothing to do", returncode=code or 1)
        if how == "exception":
            raise ValueError("broken input")
        if how == "exit":
            sys.exit(code)
        if how == "interrupt":
            raise KeyboardInterrupt
