"""A small project with tracekit at its defaults and its own test suite (Django's runner
and pytest-django). TK_DB: the database ("sqlite" file next to manage.py, or a
PostgreSQL database name after "postgres:"). TK_STATS_DB set: tracekit's tables on a second
SQLite file of that name (STATS['DATABASE'] "tracekit", routed by TracekitRouter)."""

import os
from pathlib import Path

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import INSTALLED_APPS, postgres

BASE_DIR = Path(__file__).resolve().parent.parent  # the copied project, not tests/
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
INSTALLED_APPS = ["django_tracekit", *INSTALLED_APPS[:2], "shop"]
ROOT_URLCONF = "proj.urls"
TEMPLATES: list[dict[str, object]] = []
_db = os.environ.get("TK_DB", "sqlite")
if _db.startswith("postgres:"):
    DATABASES = {"default": postgres(_db.split(":", 1)[1])}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                             "NAME": BASE_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A short interval: a flusher thread, if there were one, would write while tests run.
TRACEKIT = {"STATS": {"FLUSH_INTERVAL_S": float(os.environ.get("TK_FLUSH_S", "10"))}}
if os.environ.get("TK_STATS_DB"):
    DATABASES["tracekit"] = {"ENGINE": "django.db.backends.sqlite3",
                             "NAME": BASE_DIR / os.environ["TK_STATS_DB"]}
    DATABASE_ROUTERS = ["django_tracekit.routers.TracekitRouter"]
    TRACEKIT["STATS"]["DATABASE"] = "tracekit"
