"""``manage.py tracekit_lint [PATH ...]``: the convention lint (see docs/lint.md).

A thin Django front-end over ``django_tracekit.lint``; without paths it lints the project's
own apps (those under ``settings.BASE_DIR``). Exit status: 0 clean, 1 findings, 2 error.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError

from django_tracekit.lint import EXIT_CLEAN, EXIT_ERROR, PathNotFound, cli
from django_tracekit.lint.project import django_default_paths


class Command(BaseCommand):
    help = (
        "Check django-tracekit conventions (errors recorded on spans, spans ended, automatic "
        "span names). Prints 'path:line:col: rule-id message'; exits 1 on findings."
    )
    requires_system_checks: ClassVar[list[str]] = []  # type: ignore[misc]  # a linter must run even when checks fail

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        paths = options["paths"] or django_default_paths()
        try:
            code = cli.run(paths, options["format"], self.stdout, self.stderr)
        except PathNotFound as exc:
            raise CommandError(f"no such file or directory: {exc}", returncode=EXIT_ERROR) from exc
        if code != EXIT_CLEAN:
            # SystemExit, not CommandError: findings are a result, not a failure of the command.
            raise SystemExit(code)
