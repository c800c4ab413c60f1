"""tests/celery's project with feature-usage stats on, written only at exit (the flush
interval is an hour), exporting over OTLP to the (faulty) collector the test names."""

import os

from tests.celery.project.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["TRACEKIT_TEST_DB"],
        # Every pool child writes at its exit: wait for the lock rather than fail.
        "OPTIONS": {"timeout": 30},
    }
}
TRACEKIT = {
    "OTLP_ENDPOINT": os.environ["TK_OTLP_ENDPOINT"],  # otlp by default
    "SERVICE_NAME": "tracekit-exit-tests",
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600},
}
# INFO: the startup line and the stats' own notes are in the worker log of a failing test.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "INFO"}},
}
