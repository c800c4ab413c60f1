"""tests/http's project with feature-usage stats on, written only at exit (the flush
interval is an hour), exporting over OTLP to the (faulty) collector the test names."""

import os

from tests.http.project.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["TRACEKIT_TEST_DB"],
        # Several processes write at exit: wait for the lock rather than fail.
        "OPTIONS": {"timeout": 30},
    }
}
TRACEKIT = {
    "OTLP_ENDPOINT": os.environ["TRACEKIT_TEST_OTLP_ENDPOINT"],  # otlp by default
    "EXCLUDED_URLS": [r"^/healthz"],
    "SERVICE_NAME": "tracekit-exit-tests",
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600},
}
