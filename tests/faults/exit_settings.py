"""What the exit fault projects share: feature-usage stats on, written only at exit (the
flush interval is an hour) to a file SQLite database, exporting over OTLP (the default
once an endpoint is set) to the (faulty) collector the test names."""

import os
from typing import Any

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["TRACEKIT_TEST_DB"],
        # Several processes write at exit: wait for the lock rather than fail.
        "OPTIONS": {"timeout": 30},
    }
}


def tracekit(endpoint: str, **more: Any) -> dict[str, Any]:
    return {"OTLP_ENDPOINT": endpoint, "SERVICE_NAME": "tracekit-exit-tests",
            "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600}, **more}
