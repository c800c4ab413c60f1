"""tests/traces/project (gunicorn + a prefork Celery worker sharing one SQLite file) with
this project's app and middleware, the stats and the trace store on (every trace kept: the
test reads their status), log records as span events."""

import os

from tests.traces.project.settings import *  # noqa: F403
from tests.traces.project.settings import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "forum.apps.IncidentsConfig"]
MIDDLEWARE = [*MIDDLEWARE, "forum.middleware.request_tag_middleware",
              "forum.middleware.BanPageMiddleware"]
ROOT_URLCONF = "forum.urls"
TRACEKIT = {
    "PROJECT_NAME": "forum",
    "EXPORTER": "none",
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "forum-web"),
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.3},
    "TRACES": {"ENABLED": True, "SAMPLE_RATE": 1.0},
    "LOGS": {"LEVEL": "INFO"},
    "AUTOTRACE": {"INCLUDE": ["forum"]},
}
