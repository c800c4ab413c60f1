"""Settings of the logs Celery project; broker files and the OTLP endpoint from env vars."""

import os
from pathlib import Path

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import filesystem_broker, otlp_export

INSTALLED_APPS = ["django_tracekit"]
MIDDLEWARE: list[str] = []  # a worker only

_data = Path(os.environ.get("TK_CELERY_DATA", "/tmp/tracekit-logs-celery"))
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT = "example_project.filesystem_broker:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(_data)
CELERY_RESULT_BACKEND = f"file://{_data / 'results'}"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's default: the worker replaces the root logger's handlers with its own, after
# Django (and tracekit) started. The task log format prints tracekit's ids.
CELERY_WORKER_HIJACK_ROOT_LOGGER = True
CELERY_WORKER_TASK_LOG_FORMAT = "TASKLOG %(otelTraceID)s %(otelSpanID)s %(task_name)s %(message)s"
TRACEKIT = otlp_export("tracekit-logs-celery-tests", TRACES={"ENABLED": False})
