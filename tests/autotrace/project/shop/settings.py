"""Settings of the auto-tracing test project, served by a real gunicorn subprocess.

BASE_DIR is tests/autotrace/project, which the server has on sys.path: the project's
modules are the top-level package ``shop`` and INCLUDE defaults to "modules under BASE_DIR".
"""

import os
from pathlib import Path

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import (
    INSTALLED_APPS,
    LOG_TRACEKIT_WARNINGS,
    TRACEKIT_MIDDLEWARE,
    filesystem_broker,
    otlp_export,
)

BASE_DIR = Path(__file__).resolve().parents[1]
# django_tracekit first: auto-tracing is installed before the other apps import their code.
INSTALLED_APPS = ["django_tracekit", *INSTALLED_APPS[:2], "shop"]
MIDDLEWARE = [TRACEKIT_MIDDLEWARE]
ROOT_URLCONF = "shop.urls"
TRACEKIT = otlp_export(endpoint_env="TRACEKIT_TEST_OTLP_ENDPOINT", PROJECT_NAME="shop", AUTOTRACE={
    "INCLUDE": None,  # default: modules under BASE_DIR
    "EXCLUDE": ["shop.fastpath", "shop.services.fast_*"],
    "MIN_DURATION_MS": 20.0,
}, EXCLUDED_URLS=[r"^/x/"])
LOGGING = LOG_TRACEKIT_WARNINGS

CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker(
    Path(os.environ.get("TK_AUTOTRACE_DATA", "/tmp/tracekit-autotrace")))
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
