"""Run a Python snippet in a fresh interpreter with Django configured from given settings
(``run_django``: to its end; ``start_django``: running, ``finish`` waits for it).

OpenTelemetry's global TracerProvider can be set once per process, so bootstrap tests each
get their own process, as an application would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import django, json, logging, os, sys
from django.conf import settings
settings.configure(**json.loads(os.environ["TK_SETTINGS"]))
logging.basicConfig(level=logging.INFO)
"""


def run_django(code: str, settings: dict[str, Any], env: dict[str, str] | None = None,
               timeout: float = 60, setup: bool = True) -> subprocess.CompletedProcess[str]:
    base: dict[str, Any] = {
        "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth",
                           "django_tracekit"],
        "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        "BASE_DIR": "/srv/shop",
        "LOGGING_CONFIG": None,
        "TRACEKIT": {},
    }
    base.update(settings)
    # These processes have no migrated database: feature-usage stats are tested elsewhere.
    base["TRACEKIT"] = {"STATS": {"ENABLED": False}, "TRACES": {"ENABLED": False},
                        **base["TRACEKIT"]}
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("OTEL_", "SENTRY_", "DJANGO_SETTINGS_MODULE"))}
    full_env.update({"TK_SETTINGS": json.dumps(base), "PYTHONPATH": str(ROOT),
                     "OTEL_BSP_SCHEDULE_DELAY": "50"})
    full_env.update(env or {})
    script = PRELUDE + ("django.setup()\n" if setup else "") + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], env=full_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def database_settings(vendor: str, name: str) -> dict[str, Any]:
    if vendor == "sqlite":
        # A file: several processes share it; a long timeout rides out the write lock.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name,
                "OPTIONS": {"timeout": 30}}
    if vendor == "postgres":
        return {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres",
                "HOST": "127.0.0.1", "PORT": "5432"}
    assert vendor == "mariadb"
    return {"ENGINE": "django.db.backends.mysql", "NAME": name, "USER": "root",
            "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "3306",
            "OPTIONS": {"charset": "utf8mb4"}}


# PyMySQL stands in for mysqlclient (no C build needed); Django accepts it as MySQLdb.
MYSQL_SHIM = "import pymysql; pymysql.install_as_MySQLdb()\n"


def start_django(code: str, settings: dict[str, Any], *, setup: bool = True,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Like tests.support.scripts.run_django, but returns the running process."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("OTEL_", "SENTRY_", "DJANGO_SETTINGS_MODULE"))}
    full_env.update({"TK_SETTINGS": json.dumps(settings), "PYTHONPATH": str(ROOT)})
    full_env.update(env or {})
    script = MYSQL_SHIM + PRELUDE + ("django.setup()\n" if setup else "") + code
    return subprocess.Popen([sys.executable, "-c", script], env=full_env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str], timeout: float = 120) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"exit {process.returncode}\n{out}\n{err}"
    return out


def check(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result
