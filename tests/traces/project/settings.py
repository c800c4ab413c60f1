"""tests/celery/project's settings, with the trace store on: one database shared by the
web server and the worker, nothing exported (SAMPLE_RATE 0: kept traces come from the
trace store's own rules), flushes every 0.3 s."""

import os
from typing import Any

from tests.celery.project.settings import *  # noqa: F403
from tests.support.project_settings import postgres


def _database(spec: str) -> dict[str, Any]:
    vendor, name = spec.split(":", 1)
    if vendor == "postgres":
        return postgres(name)
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": name, "OPTIONS": {"timeout": 30}}


ROOT_URLCONF = "tests.traces.project.urls"
DATABASES = {"default": _database(os.environ.get("TK_TRACES_DB",
                                                 "sqlite:/tmp/tracekit-traces.sqlite3"))}
_TRACEKIT: dict[str, Any] = {
    "EXPORTER": "none",
    "SAMPLE_RATE": 0.0,
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "shop-web"),
    "STATS": {"ENABLED": False, "FLUSH_INTERVAL_S": 0.3},
    "TRACES": {"SAMPLE_RATE": 0.0},
}
TRACEKIT = _TRACEKIT
