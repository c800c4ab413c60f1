"""Settings of the logs Celery project; broker files and the OTLP endpoint from env vars."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]  # tests/: PROJECT_NAME "tests"
SECRET_KEY = "tests-logs-celery-only-not-secret"
USE_TZ = True
INSTALLED_APPS = ["django_tracekit"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

_data = Path(os.environ.get("TK_CELERY_DATA", "/tmp/tracekit-logs-celery"))
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT = "example_project.filesystem_broker:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_data / "broker"),
    "data_folder_out": str(_data / "broker"),
    "control_folder": str(_data / "control"),
    "polling_interval": 0.05,
}
CELERY_RESULT_BACKEND = f"file://{_data / 'results'}"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's default: the worker replaces the root logger's handlers with its own, after
# Django (and tracekit) started. The task log format prints tracekit's ids.
CELERY_WORKER_HIJACK_ROOT_LOGGER = True
CELERY_WORKER_TASK_LOG_FORMAT = "TASKLOG %(otelTraceID)s %(otelSpanID)s %(task_name)s %(message)s"
TRACEKIT = {
    "EXPORTER": "otlp",
    "OTLP_ENDPOINT": os.environ.get("TK_OTLP_ENDPOINT", "http://127.0.0.1:9"),
    "SERVICE_NAME": "tracekit-logs-celery-tests",
    "STATS": {"ENABLED": False},
    "TRACES": {"ENABLED": False},
}
