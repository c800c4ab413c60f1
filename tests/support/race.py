"""Processes that write to one database at the same moment, then one that reads what they
left: the harness of the concurrency tests (stats, error groups, the trace store and its
slow rule), on an SQLite file, PostgreSQL and MariaDB.

The racers start together on a condition, not a guess: each imports Django, says it is
ready, and waits; the harness says "go" once every racer is ready.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import fresh_database
from tests.support.processes import READY_TIMEOUT_S
from tests.support.scripts import database_settings, finish, start_django

# Defines wait_for_start() in a racer's script (start_django's prelude imported os).
START = """
def wait_for_start():
    import pathlib, time
    race = pathlib.Path(os.environ["TK_RACE_DIR"])
    (race / f"ready-{os.getpid()}").touch()
    while not (race / "go").exists():
        time.sleep(0.001)
"""

MIGRATE = "from django.core.management import call_command\ncall_command('migrate', verbosity=0)\n"


def race_settings(vendor: str, name: str) -> dict[str, Any]:
    """tracekit's tables in database ``name``, tracing off: the racers call the stores."""
    return {"INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth",
                               "django_tracekit"],
            "DATABASES": {"default": database_settings(vendor, name)},
            "TRACEKIT": {"ENABLED": False}, "LOGGING_CONFIG": None, "USE_TZ": True}


def race(settings: dict[str, Any], code: str, racers: list[dict[str, str]], summary: str,
         *, timeout: float = 120) -> Any:
    """Migrate, run ``code`` once per environment in ``racers`` (it calls ``wait_for_start()``
    before writing), then ``summary``: the JSON its last line prints."""
    finish(start_django(MIGRATE, settings))
    with tempfile.TemporaryDirectory(prefix="tracekit-race-") as race_dir:
        processes = [start_django(START + code, settings, env={"TK_RACE_DIR": race_dir, **env})
                     for env in racers]
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while len(list(Path(race_dir).glob("ready-*"))) < len(processes):
                for process in processes:
                    if process.poll() is not None:  # died before the start: show why
                        finish(process)
                assert time.monotonic() < deadline, "the racers did not all get ready"
                time.sleep(0.01)
            (Path(race_dir) / "go").touch()
            for process in processes:
                finish(process, timeout=timeout)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    return json.loads(finish(start_django(summary, settings)).strip().splitlines()[-1])


def fresh_database_fixture(vendor: str, prefix: str) -> Any:
    """A fixture: the name of a database created for the test, dropped after it."""
    @pytest.fixture
    def database() -> Iterator[str]:
        with fresh_database(vendor, prefix) as name:
            yield name

    return database


def every_database_fixture(prefix: str) -> Any:
    """A fixture over SQLite, PostgreSQL and MariaDB: ``(vendor, name)`` of an empty database
    of the test's own (a file in a temporary folder for SQLite), dropped after it."""
    @pytest.fixture(params=["sqlite",
                            pytest.param("postgres", marks=pytest.mark.service("postgres")),
                            pytest.param("mariadb", marks=pytest.mark.service("mariadb"))])
    def database(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
        if request.param == "sqlite":
            with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
                yield "sqlite", str(Path(tmp) / "db.sqlite3")
            return
        with fresh_database(request.param, prefix) as name:
            yield request.param, name

    return database
