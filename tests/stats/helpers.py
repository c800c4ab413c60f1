"""Shared helpers of the stats tests: attaching a processor, reading the usage page."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

from tests.support.scripts import PRELUDE, ROOT

ROW = re.compile(r'<tr data-feature="([^"]*)" data-kind="(\w+)" data-calls="(\d+)" '
                 r'data-errors="(\d+)" data-users="(\d+)">')


def usage_rows(page: str) -> dict[tuple[str, str], tuple[int, int]]:
    """{(feature, kind): (calls, errors)} from the usage page's table."""
    return {(html.unescape(f), k): (int(c), int(e)) for f, k, c, e, _ in ROW.findall(page)}


def usage_users(page: str) -> dict[tuple[str, str], int]:
    """{(feature, kind): distinct users} from the usage page's table."""
    return {(html.unescape(f), k): int(u) for f, k, _, _, u in ROW.findall(page)}


SITE_SETTINGS: dict[str, Any] = {
    "INSTALLED_APPS": ["django.contrib.admin", "django.contrib.auth",
                       "django.contrib.contenttypes", "django.contrib.sessions",
                       "django.contrib.messages", "django_tracekit"],
    "MIDDLEWARE": ["django_tracekit.middleware.TracekitMiddleware",
                   "django.contrib.sessions.middleware.SessionMiddleware",
                   "django.middleware.common.CommonMiddleware",
                   "django.middleware.csrf.CsrfViewMiddleware",
                   "django.contrib.auth.middleware.AuthenticationMiddleware",
                   "django.contrib.messages.middleware.MessageMiddleware"],
    "ROOT_URLCONF": "tests.stats.urls",
    "TEMPLATES": [{"BACKEND": "django.template.backends.django.DjangoTemplates",
                   "APP_DIRS": True, "OPTIONS": {"context_processors": [
                       "django.template.context_processors.request",
                       "django.contrib.auth.context_processors.auth",
                       "django.contrib.messages.context_processors.messages"]}}],
    "SECRET_KEY": "tests-only",
    "ALLOWED_HOSTS": ["testserver"],
    "USE_TZ": True,
    "STATIC_URL": "/static/",
    "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
}


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


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A freshly created PostgreSQL database (a unique name: parallel runs never share rows),
    dropped afterwards."""
    import psycopg

    name = f"tracekit_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
