"""What the black-holed database exit tests share: stats (and the trace store) on
PostgreSQL reached through a TCP relay the test black-holes (``TK_PG_PORT``), written only
at exit (the flush interval is an hour); nothing exported (the database alone is tested)."""

import os
from typing import Any

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ["TK_PG_PORT"],
        "NAME": os.environ["TK_PG_NAME"],
        "USER": "postgres",
    }
}
TRACEKIT: dict[str, Any] = {
    "SERVICE_NAME": "tracekit-exit-tests", "EXPORTER": "none",
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600},
    "TRACES": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "INFO"}},
}
