"""A real server whose tracekit tables live on a database of their own: DATABASES has
"default" (auth, sessions, admin) and "tracekit" (STATS['DATABASE']), routed by
django_tracekit.routers.TracekitRouter. TK_DB_VENDOR: "postgres" (TK_DEFAULT_DB and
TK_TRACEKIT_DB are database names) or "sqlite" (they are file paths). Stats and the trace
store flush every 0.3 s."""

import os
from typing import Any

from tests.settings import *  # noqa: F403


def _database(name: str) -> dict[str, Any]:
    if os.environ.get("TK_DB_VENDOR") == "postgres":
        return {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres",
                "HOST": "127.0.0.1", "PORT": "5432"}
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name, "OPTIONS": {"timeout": 30}}


ROOT_URLCONF = "tests.stats.urls"
DATABASES = {"default": _database(os.environ["TK_DEFAULT_DB"]),
             "tracekit": _database(os.environ["TK_TRACEKIT_DB"])}
if os.environ.get("TK_ROUTER", "1") == "1":
    DATABASE_ROUTERS = ["django_tracekit.routers.TracekitRouter"]
TRACEKIT = {
    "EXPORTER": "none",
    "SERVICE_NAME": "shop-web",
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.3, "DATABASE": "tracekit"},
    "TRACES": {"ENABLED": True, "SAMPLE_RATE": 1.0},
}
# A failing page's traceback in the server's log (DEBUG is off).
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"console": {"class": "logging.StreamHandler"}},
           "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}}}
