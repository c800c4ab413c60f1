"""Settings of the logs test project served by a real gunicorn (tests/logs/test_server.py):
a LOGGING config Django applies with dictConfig, a non-propagating logger, and a formatter
printing the ids tracekit puts on every record."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]  # tests/: PROJECT_NAME "tests"
SECRET_KEY = "tests-logs-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
INSTALLED_APPS = ["django_tracekit"]
MIDDLEWARE = ["django_tracekit.middleware.TracekitMiddleware"]
ROOT_URLCONF = "tests.logs.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": True,
    "formatters": {
        "ids": {"format": "LOG %(otelTraceID)s %(otelSpanID)s %(levelname)s %(message)s"},
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "ids"}},
    "loggers": {
        "tests.logs.views": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
    },
}
TRACEKIT = {
    "EXPORTER": "otlp",
    "OTLP_ENDPOINT": os.environ.get("TRACEKIT_TEST_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    "SERVICE_NAME": "tracekit-logs-tests",
    "STATS": {"ENABLED": False},
    "TRACES": {"ENABLED": False},
    "EXCLUDED_URLS": [r"^/healthz"],
}
