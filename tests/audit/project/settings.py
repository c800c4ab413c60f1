"""Settings of the audit's web server, worker and command: PostgreSQL (a fresh database per
run, ``TK_AUDIT_DB``), Celery on Redis, the admin, stats and trace store on; the release
comes from ``TK_AUDIT_VERSION`` (two server generations, two versions)."""

import os
from typing import Any

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import (
    ADMIN_APPS,
    ADMIN_MIDDLEWARE,
    ADMIN_TEMPLATES,
    LOG_TRACEKIT_WARNINGS,
    TRACEKIT_MIDDLEWARE,
    postgres,
)

INSTALLED_APPS = [*ADMIN_APPS, "django_tracekit", "tests.audit.project.apps.AuditConfig"]
MIDDLEWARE = [
    TRACEKIT_MIDDLEWARE,
    # Right inside the request span: the server-side truth of every request.
    "tests.audit.project.views.AuditClock",
    *ADMIN_MIDDLEWARE,
]
ROOT_URLCONF = "tests.audit.project.urls"
TEMPLATES = ADMIN_TEMPLATES
DATABASES = {"default": postgres(os.environ.get("TK_AUDIT_DB", "test"))}
CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"
CELERY_RESULT_BACKEND = "redis://127.0.0.1:6379/13"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TK_AUDIT_QUEUE", "audit")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
LOGGING = LOG_TRACEKIT_WARNINGS
TRACEKIT: dict[str, Any] = {
    "PROJECT_NAME": "tests",
    "EXPORTER": "none",
    "SERVICE_NAME": os.environ.get("TK_SERVICE_NAME", "audit-web"),
    "SERVICE_VERSION": os.environ.get("TK_AUDIT_VERSION", "1.0"),
    "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 0.5},
    "TRACES": {"ENABLED": True, "SAMPLE_RATE": float(os.environ.get("TK_AUDIT_SAMPLE", "0.1"))},
    "DB": {"ENABLED": True, "N_PLUS_ONE": 5},
    # The health probe and the audit's own reading of the admin leave no numbers behind.
    "EXCLUDED_URLS": [r"^/healthz", r"^/admin/", r"^/done/"],
}
