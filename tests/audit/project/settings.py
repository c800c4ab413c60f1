"""Settings of the audit's web server, worker and command: PostgreSQL (a fresh database per
run, ``TK_AUDIT_DB``), Celery on Redis, the admin, stats and trace store on; the release
comes from ``TK_AUDIT_VERSION`` (two server generations, two versions)."""

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[2]  # tests/ -> PROJECT_NAME "tests"
SECRET_KEY = "tests-audit-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_tracekit",
    "tests.audit.project.apps.AuditConfig",
]
MIDDLEWARE = [
    "django_tracekit.middleware.TracekitMiddleware",
    # Right inside the request span: the server-side truth of every request.
    "tests.audit.project.views.AuditClock",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.audit.project.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
                         "NAME": os.environ.get("TK_AUDIT_DB", "test"), "USER": "postgres",
                         "HOST": "127.0.0.1", "PORT": "5432"}}
CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"
CELERY_RESULT_BACKEND = "redis://127.0.0.1:6379/13"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("TK_AUDIT_QUEUE", "audit")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "WARNING"}},
}
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
