"""The shop project (tests/db/project) run in a fresh interpreter against each real
database; every test asserts on the spans of one scenario (tests/db/scenarios.py)."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.db import scenarios
from tests.stats.helpers import MYSQL_SHIM, database_settings
from tests.support.databases import fresh_database
from tests.support.scripts import ROOT, check, run_django

PROJECT = Path(__file__).resolve().parent / "project"
VENDORS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.service("postgres")),
    pytest.param("mariadb", id="mariadb", marks=pytest.mark.service("mariadb")),
]


def run_scenarios(vendor: str, tmp: Path, tracekit: dict[str, Any] | None = None,
                  env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run tests/db/scenarios.main() in the shop project on a fresh ``vendor`` database."""
    with ExitStack() as stack:
        if vendor == "sqlite":
            name = str(tmp / "db.sqlite3")
        else:
            name = stack.enter_context(fresh_database(vendor, prefix="tracekit_db"))
        settings = {
            "INSTALLED_APPS": ["django_tracekit", "django.contrib.contenttypes",
                               "django.contrib.auth", "shop"],
            "BASE_DIR": str(PROJECT),
            "ROOT_URLCONF": "shop.urls",
            "MIDDLEWARE": ["django_tracekit.middleware.TracekitMiddleware"],
            "ALLOWED_HOSTS": ["testserver"],
            "SECRET_KEY": "tests-only",
            "USE_TZ": True,
            "DATABASES": {"default": database_settings(vendor, name)},
            "TRACEKIT": {"PROJECT_NAME": "shop", "EXPORTER": "none",
                         "STATS": {"ENABLED": True}, **(tracekit or {})},
        }
        code = ((MYSQL_SHIM if vendor == "mariadb" else "")
                + "django.setup()\nfrom tests.db import scenarios\nscenarios.main()\n")
        full_env = {"PYTHONPATH": f"{ROOT}{os.pathsep}{PROJECT}", **(env or {})}
        result = check(run_django(code, settings, env=full_env, timeout=600, setup=False))
        return scenarios.parse(result.stdout)


@pytest.fixture(scope="session", params=VENDORS)
def run(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every scenario's spans on one database (SQLite, PostgreSQL, MariaDB)."""
    vendor = request.param
    result = run_scenarios(vendor, tmp_path_factory.mktemp(f"db-{vendor}"))
    result["vendor"] = vendor
    return result
