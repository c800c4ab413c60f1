"""Settings of the test project served by real gunicorn/uvicorn subprocesses (tests/http).

Only the server subprocesses use this module; the in-process suite keeps tests.settings.
The OTLP endpoint and the SQLite file come from env vars the fixtures set per run.
BASE_DIR is tests/: the views' names are "tests/http/project/views/..." (the module's top
package is "tests", hence no second prefix), which is what the assertions expect.
"""

import os
from pathlib import Path

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import TRACEKIT_MIDDLEWARE, otlp_export

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "django_tracekit",
]
MIDDLEWARE = [
    TRACEKIT_MIDDLEWARE,
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tests.http.project.middleware.RaiseOnPathMiddleware",
]
ROOT_URLCONF = "tests.http.project.urls"
WSGI_APPLICATION = "tests.http.project.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TRACEKIT_TEST_DB", str(Path(__file__).with_name("db.sqlite3"))),
    }
}
# Fast hashing: the login test must not spend a second in PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "stderr": {"class": "logging.StreamHandler"},
        "null": {"class": "logging.NullHandler"},
    },
    # The 500s and 400s below are deliberate; keep their log lines out of the server log
    # so that a real failure stands out, but let tracekit's own warnings through.
    "loggers": {
        "django.request": {"handlers": ["null"], "propagate": False},
        "django.security": {"handlers": ["null"], "propagate": False},
        "django_tracekit": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
TRACEKIT = otlp_export("tracekit-http-tests", endpoint_env="TRACEKIT_TEST_OTLP_ENDPOINT",
                       EXCLUDED_URLS=[r"^/healthz"])
