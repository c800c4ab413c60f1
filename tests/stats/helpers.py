"""Shared helpers of the stats tests: attaching a processor, reading the usage page."""

from __future__ import annotations

import contextlib
import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

# The scripts' helpers live in tests/support/scripts.py; these names stay importable here.
from tests.support.scripts import MYSQL_SHIM as MYSQL_SHIM
from tests.support.scripts import database_settings as database_settings
from tests.support.scripts import finish as finish
from tests.support.scripts import start_django as start_django

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
