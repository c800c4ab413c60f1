"""tests/celery/project with per-feature metrics on and nothing else kept: no trace export,
SAMPLE_RATE 0 (every count must come from before sampling), no stats, no trace store."""

import os
from typing import Any

from tests.celery.project.settings import *  # noqa: F403

ROOT_URLCONF = "tests.metrics.project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": os.environ.get("TK_METRICS_DB", ":memory:")}}
_METRICS: dict[str, Any] = {
    "ENABLED": True,
    "EXPORT_INTERVAL_S": float(os.environ.get("TK_METRICS_INTERVAL_S", "1")),
    "EXPORTER": os.environ.get("TK_METRICS_EXPORTER", "otlp"),
}
if os.environ.get("TK_METRICS_URL"):
    _METRICS["REMOTE_WRITE_URL"] = os.environ["TK_METRICS_URL"]
TRACEKIT = {
    "EXPORTER": "none",
    "OTLP_ENDPOINT": os.environ.get("TK_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    "SAMPLE_RATE": 0.0,
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "shop-web"),
    "SERVICE_VERSION": os.environ.get("TK_SERVICE_VERSION"),  # None: derived as usual
    "STATS": {"ENABLED": False},
    "TRACES": {"ENABLED": False},
    "METRICS": _METRICS,
}
