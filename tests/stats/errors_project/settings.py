"""A real server for the error-groups end-to-end test: tests.stats.urls (a view raising one
error type from one place with a message per order), stats and the trace store on, both
flushing every 0.3 s into one SQLite file."""

import os

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.stats.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("TK_ERRORS_DB", "/tmp/tracekit-errors.sqlite3"),
                         "OPTIONS": {"timeout": 30}}}
TRACEKIT = {
    "EXPORTER": "none",
    "SERVICE_NAME": "shop-web",
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.3},
    "TRACES": {"ENABLED": True},  # flushed with the stats
}
