"""tests/traces/project (gunicorn + a prefork Celery worker sharing one database) with the
stats on: error groups written by the worker's children."""

import os

from tests.traces.project.settings import *  # noqa: F403

TRACEKIT = {
    "EXPORTER": "none",
    "SAMPLE_RATE": 0.0,  # sampled out: counted all the same
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "shop-web"),
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.3},
    "TRACES": {"SAMPLE_RATE": 0.0},
}
