"""What every test project's settings share; each project's settings module star-imports
this and overrides only what differs (its apps, urls, database, TRACEKIT).

BASE_DIR is the repository's tests/ folder, so PROJECT_NAME resolves to "tests" and a view
or task in ``tests.celery.project.tasks`` is named "tests/celery/project/tasks/...": a
project that needs another BASE_DIR (its own PROJECT_NAME) sets it itself.
"""

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]  # tests/ -> PROJECT_NAME "tests"
SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True

TRACEKIT_MIDDLEWARE = "django_tracekit.middleware.TracekitMiddleware"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_tracekit"]
MIDDLEWARE = [TRACEKIT_MIDDLEWARE, "django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, dict[str, Any]] = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# tracekit's own warnings in the server's or worker's log, where a failing test shows them
# (a project that wants them sets ``LOGGING = LOG_TRACEKIT_WARNINGS``).
LOG_TRACEKIT_WARNINGS: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_tracekit": {"handlers": ["stderr"], "level": "WARNING"}},
}

# The admin (the in-process suite and the audit serve it).
ADMIN_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]
ADMIN_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ADMIN_TEMPLATES: list[dict[str, Any]] = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]


def postgres(name: str) -> dict[str, Any]:
    """The machine's PostgreSQL database ``name`` (tests/support/databases.py creates it)."""
    return {"ENGINE": "django.db.backends.postgresql", "NAME": name, "USER": "postgres",
            "HOST": "127.0.0.1", "PORT": "5432"}


def otlp_export(service_name: str | None = None, *, endpoint_env: str = "TK_OTLP_ENDPOINT",
                **keys: Any) -> dict[str, Any]:
    """TRACEKIT exporting over OTLP to the test's receiver (its URL in ``endpoint_env``;
    nothing listens on the default), stats off, plus ``keys`` (sections or settings)."""
    config: dict[str, Any] = {
        "EXPORTER": "otlp",
        "OTLP_ENDPOINT": os.environ.get(endpoint_env, "http://127.0.0.1:9"),
        "STATS": {"ENABLED": False}}
    if service_name is not None:
        config["SERVICE_NAME"] = service_name
    return {**config, **keys}


def filesystem_broker(data: Path) -> dict[str, Any]:
    """Kombu's filesystem transport options: messages are files under ``data``; in == out,
    so producer and worker share them; the control folder carries fanout (revoke)."""
    return {"data_folder_in": str(data / "broker"), "data_folder_out": str(data / "broker"),
            "control_folder": str(data / "control"), "polling_interval": 0.05}
