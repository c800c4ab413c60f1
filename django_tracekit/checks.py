"""System checks: every invalid setting is a ``django_tracekit.E0xx`` error (``W0xx`` warning).

The messages come from ``conf.resolve`` (values) and ``exporters.check_exporters`` (imports);
this module adds the middleware placement checks and turns problems into check messages.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from django_tracekit.autotrace.checks import check_autotrace
from django_tracekit.conf import Problem, get_config
from django_tracekit.exporters import check_exporters

MIDDLEWARE_PATH = "django_tracekit.middleware.TracekitMiddleware"

register("django_tracekit")(check_autotrace)


def _message(problem: Problem) -> CheckMessage:
    level = Error if problem.is_error else Warning
    return level(f"{problem.key} {problem.message}", hint=problem.hint,
                 id=f"django_tracekit.{problem.id}")


@register("django_tracekit")
def check_settings(app_configs: Sequence[AppConfig] | None = None,
                   **kwargs: Any) -> list[CheckMessage]:
    config = get_config()
    problems = list(config.problems)
    if config.enabled:
        problems.extend(check_exporters(config))
    return [_message(p) for p in problems]


@register("django_tracekit")
def check_sentry(app_configs: Sequence[AppConfig] | None = None,
                 **kwargs: Any) -> list[CheckMessage]:
    config = get_config()
    if not config.sentry_dsn and "sentry_sdk" not in sys.modules:
        return []
    from django_tracekit.sentry import check_sentry as sentry_checks

    return sentry_checks(config)


@register("django_tracekit")
def check_middleware(app_configs: Sequence[AppConfig] | None = None,
                     **kwargs: Any) -> list[CheckMessage]:
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
