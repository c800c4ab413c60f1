"""The small project the ``manage.py`` tests run: an app ``shop`` with commands, an
auto-traced service module, a data migration, a migrated SQLite database, spans to a local
OTLP receiver."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.processes import clean_env
from tests.support.projects import write_project

PROJECT = "shop"  # PROJECT_NAME: the first INSTALLED_APPS package under BASE_DIR
COMMANDS = f"{PROJECT}/management/commands"


def span_name(command: str) -> str:
    return f"{COMMANDS}/{command}/Command/handle"


FILES = {
    "proj/settings.py": """
        import os
        INSTALLED_APPS = [*INSTALLED_APPS, "shop"]
        _endpoint = os.environ.get("TK_OTLP_ENDPOINT")  # none: the default, no exporter
        TRACEKIT = {
            "SERVICE_NAME": "commands-tests",
            **({"EXPORTER": "otlp", "OTLP_ENDPOINT": _endpoint} if _endpoint else {}),
            "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600},  # written at exit only
            "AUTOTRACE": {"MIN_DURATION_MS": 5},
            "COMMANDS": {"ENABLED": os.environ.get("TK_COMMANDS", "1") == "1",
                         "EXCLUDE": ["nightly"]},
        }
    """,
    "shop/__init__.py": "",
    "shop/services.py": """
        import time


        def slow_step():
            time.sleep(0.03)  # kept: slower than MIN_DURATION_MS
            return 3


        def quick_step():
            return 1


        def backfill_label(n):
            return f"item {n}"
    """,
    "shop/migrations/__init__.py": "",
    # A data migration (as Plane's): its own function, and the app's helper it calls.
    "shop/migrations/0001_backfill.py": """
        from django.db import migrations

        from shop import services


        def forwards(apps, schema_editor):
            for n in range(3):
                services.backfill_label(n)


        class Migration(migrations.Migration):
            operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
    """,
    "shop/management/__init__.py": "",
    "shop/management/commands/__init__.py": "",
    "shop/management/commands/refresh.py": """
        import logging
        import time

        import django_tracekit as tracekit
        from django.contrib.auth.models import User
        from django.core.management.base import BaseCommand

        from shop import services

        logger = logging.getLogger("shop.refresh")


        class Command(BaseCommand):
            help = "Refresh the catalog."

            def add_arguments(self, parser):
                parser.add_argument("--token")
                parser.add_argument("--dry-run", action="store_true")

            def handle(self, *args, **options):
                count = services.slow_step() + services.quick_step()
                User.objects.filter(is_active=True).count()  # a query under the command
                logger.warning("catalog refresh: %d items", count)  # a log event on it
                with tracekit.span("refresh/manual"):
                    time.sleep(0.001)
                time.sleep(0.02)  # handle is slow enough to be a span of its own, were it one
                self.stdout.write(f"refreshed {count} items")
    """,
    "shop/management/commands/explode.py": """
        from django.core.management.base import BaseCommand, CommandError


        class Command(BaseCommand):
            def handle(self, *args, **options):
                self.stdout.write("starting")
                raise CommandError("catalog unavailable", returncode=3)
    """,
    "shop/management/commands/bye.py": """
        import sys

        from django.core.management.base import BaseCommand


        class Command(BaseCommand):
            def handle(self, *args, **options):
                self.stdout.write("done early")
                sys.exit(0)
    """,
    "shop/management/commands/nightly.py": """
        from django.core.management.base import BaseCommand


        class Command(BaseCommand):
            def handle(self, *args, **options):
                self.stdout.write("excluded")
    """,
    "shop/management/commands/relabel.py": """
        from django.core.management.base import BaseCommand

        from shop import services


        class Command(BaseCommand):
            def handle(self, *args, **options):
                services.backfill_label(1)
    """,
    "shop/management/commands/outer.py": """
        from django.core.management import call_command
        from django.core.management.base import BaseCommand


        class Command(BaseCommand):
            def handle(self, *args, **options):
                call_command("refresh", "--dry-run")
    """,
}


class Project:
    """The project on disk; ``manage()`` runs ``python manage.py ...`` as a user does."""

    def __init__(self, root: Path, endpoint: str = "") -> None:
        self.root = write_project(root, FILES)
        self.endpoint = endpoint
        self.database = root / "db.sqlite3"

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.root,
            env=clean_env("proj.settings", pythonpath=(str(self.root),),
                          TK_OTLP_ENDPOINT=self.endpoint, **env),
            capture_output=True, text=True, timeout=120)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as db:
            return db.execute(sql, params).fetchall()

    def usage(self, feature: str) -> tuple[str, int, int] | None:
        """(kind, calls, errors) of a feature, over the minute buckets."""
        found = self.rows(
            "SELECT f.kind, SUM(u.calls), SUM(u.errors) FROM tracekit_feature f "
            "JOIN tracekit_stats u ON u.feature_id = f.id "
            "WHERE f.name = ? AND u.resolution = 60 GROUP BY f.kind", feature)
        return (str(found[0][0]), int(found[0][1]), int(found[0][2])) if found else None

    def error_samples(self, feature: str) -> list[tuple[str, str, str]]:
        return [(str(t), str(m), str(s)) for t, m, s in self.rows(
            "SELECT g.type, e.message, e.stacktrace FROM tracekit_error_group_example e "
            "JOIN tracekit_error_group g ON e.group_id = g.id "
            "JOIN tracekit_feature f ON e.feature_id = f.id WHERE f.name = ?", feature)]
