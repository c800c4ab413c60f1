"""Settings of the in-process test suite (SQLite, in-memory span capture)."""

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import (
    ADMIN_APPS,
    ADMIN_MIDDLEWARE,
    ADMIN_TEMPLATES,
    TRACEKIT_MIDDLEWARE,
)

INSTALLED_APPS = [*ADMIN_APPS, "django_tracekit"]
MIDDLEWARE = [TRACEKIT_MIDDLEWARE, "django.middleware.security.SecurityMiddleware",
              *ADMIN_MIDDLEWARE]
ROOT_URLCONF = "tests.urls"
TEMPLATES = ADMIN_TEMPLATES
TRACEKIT = {
    "EXPORTER": "tests.support.memory.processor",
    "STATS": {"ENABLED": False},
}
