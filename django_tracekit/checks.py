"""System checks: every invalid setting is a ``django_tracekit.E0xx`` error (``W0xx`` warning).

The settings' own problems come from ``conf.resolve``; every integration of the registry
adds its checks (middleware placement, auto-tracing, exporters, Sentry), whether it is on
or off: a DSN without its SDK, or an unimportable exporter, is worth saying. W023 says when
the admin, where tracekit's pages live, is not installed or not routed; E040/E041/W040
where tracekit's tables live (``STATS['DATABASE']``); W041 when the team's apps live beside
a ``BASE_DIR`` that is a package (``PROJECT_NAME`` would name the settings package).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, register

from django_tracekit.conf import get_config
from django_tracekit.conf.project_check import check_project_name
from django_tracekit.integrations import decide
from django_tracekit.pages.shared.admin_check import check_admin
from django_tracekit.storage.checks import check_database


@register("django_tracekit")
def check_settings(app_configs: Sequence[AppConfig] | None = None,
                   **kwargs: Any) -> list[CheckMessage]:
    config = get_config()
    messages = [problem.check_message() for problem in config.problems]
    for decision in decide(config):
        messages.extend(decision.integration.checks())
    messages.extend(check_admin(config))  # W023: where the pages are
    messages.extend(check_database(config))  # E040/E041/W040: where the tables are
    messages.extend(check_project_name(settings))  # W041: the team's code beside BASE_DIR
    return messages
