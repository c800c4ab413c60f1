"""Settings of the Django project the Sentry tests serve with gunicorn / run under Celery.

Env (set by tests/sentry/helpers.py):
  TK_SENTRY_DSN        -> TRACEKIT["SENTRY"]["DSN"]: tracekit initialises Sentry.
  TK_SENTRY_APP_DSN    -> the *application* initialises sentry_sdk here, with Sentry tracing
                          on and without DedupeIntegration: tracekit must use that client.
  TK_SAMPLE_RATE       -> TRACEKIT["SAMPLE_RATE"].
  TK_CAPTURE_LOCALS    -> TRACEKIT["ERRORS"]["CAPTURE_LOCALS"] ("1": on).
  TK_AUTOTRACE_INCLUDE -> TRACEKIT["AUTOTRACE"]["INCLUDE"] (comma-separated).
  TK_REDIS_CACHE_URL   -> the default cache is Redis at this URL (else local memory).
  TRACEKIT_TEST_OTLP_ENDPOINT, TK_BROKER_DIR.
"""

import os

from tests.support.project_settings import *  # noqa: F403
from tests.support.project_settings import INSTALLED_APPS, MIDDLEWARE, otlp_export

# BASE_DIR is tests/ (the base's): PROJECT_NAME "tests", in-app package "tests".
INSTALLED_APPS = [*INSTALLED_APPS, "tests.sentry.project.apps.SentryProjectConfig"]
MIDDLEWARE = [
    *MIDDLEWARE,
    "tests.sentry.project.middleware.FakeUserMiddleware",
    "tests.sentry.project.middleware.RaiseOnPathMiddleware",
]
ROOT_URLCONF = "tests.sentry.project.urls"
WSGI_APPLICATION = "tests.sentry.project.wsgi.application"
if os.environ.get("TK_REDIS_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["TK_REDIS_CACHE_URL"]}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    # django.request logs every deliberate 500 with its traceback: keep it out of the server
    # log (Sentry's LoggingIntegration still sees the records: it hooks Logger.callHandlers).
    "loggers": {
        "django.request": {"handlers": [], "propagate": False},
        "django_tracekit": {"handlers": ["stderr"], "level": "INFO"},
    },
}
TRACEKIT = otlp_export(
    "tracekit-sentry-tests", endpoint_env="TRACEKIT_TEST_OTLP_ENDPOINT",
    SAMPLE_RATE=float(os.environ.get("TK_SAMPLE_RATE", "1.0")),
    EXCLUDED_URLS=[r"^/healthz"],
    SENTRY={"DSN": os.environ.get("TK_SENTRY_DSN") or None, "ENVIRONMENT": "tk-env"},
    ERRORS={"CAPTURE_LOCALS": os.environ.get("TK_CAPTURE_LOCALS") == "1"},
)

if os.environ.get("TK_AUTOTRACE_INCLUDE"):
    TRACEKIT["AUTOTRACE"] = {"INCLUDE": os.environ["TK_AUTOTRACE_INCLUDE"].split(",")}

if os.environ.get("TK_SENTRY_APP_DSN"):
    # The application's own Sentry setup, the way teams write it in settings.py.
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=os.environ["TK_SENTRY_APP_DSN"],
        environment="app-env",
        # Without DedupeIntegration only tracekit's own rule keeps errors single.
        default_integrations=False,
        integrations=[DjangoIntegration(), LoggingIntegration()],
        traces_sample_rate=1.0,  # the team runs Sentry tracing too
    )
