"""System checks of the HTTP server source: where the middleware is in MIDDLEWARE."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

MIDDLEWARE_PATH = "django_tracekit.middleware.TracekitMiddleware"


def check_middleware() -> list[CheckMessage]:
    """Only a duplicate is an error (every request would be counted twice). Absent or
    misplaced are warnings: Django refuses ``migrate`` and ``runserver`` on any error, and
    tracing still works without it (tasks, commands) or from where it is."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    count = middleware.count(MIDDLEWARE_PATH)
    if count == 0:
        return [Warning(f"'{MIDDLEWARE_PATH}' is not in MIDDLEWARE: requests are not traced.",
                        hint=f"Add '{MIDDLEWARE_PATH}' as the first entry of MIDDLEWARE "
                             "(settings used only by Celery workers: add 'django_tracekit.W020' to "
                             "SILENCED_SYSTEM_CHECKS).",
                        id="django_tracekit.W020")]
    if count > 1:
        return [Error(f"'{MIDDLEWARE_PATH}' appears {count} times in MIDDLEWARE: every "
                      "request would be traced and counted twice.",
                      hint="Keep one, as the first entry.", id="django_tracekit.E021")]
    if middleware[0] != MIDDLEWARE_PATH:
        return [Warning(f"'{MIDDLEWARE_PATH}' comes after '{middleware[0]}' in MIDDLEWARE: "
                        "requests are traced from there on, but errors, rejected hosts and "
                        "time spent in the middleware above it are not.",
                        hint="Move it to the first entry of MIDDLEWARE.",
                        id="django_tracekit.W022")]
    return []
