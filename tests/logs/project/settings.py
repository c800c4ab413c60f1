"""Settings of the logs test project served by a real gunicorn (tests/logs/test_server.py):
a LOGGING config Django applies with dictConfig, a non-propagating logger, and a formatter
printing the ids tracekit puts on every record."""

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import TRACEKIT_MIDDLEWARE, otlp_export

INSTALLED_APPS = ["django_tracekit"]
MIDDLEWARE = [TRACEKIT_MIDDLEWARE]
ROOT_URLCONF = "tests.logs.urls"
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
TRACEKIT = otlp_export("tracekit-logs-tests", endpoint_env="TRACEKIT_TEST_OTLP_ENDPOINT",
                       TRACES={"ENABLED": False}, EXCLUDED_URLS=[r"^/healthz"])
