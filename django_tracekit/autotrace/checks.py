"""System check for auto-tracing; register it from django_tracekit/checks.py::

    from django_tracekit.autotrace.checks import check_autotrace
    register(check_autotrace)

W030: included modules imported before the hook (not auto-traced).
W031: modules the hook could not instrument (imported normally).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning


def check_autotrace(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from django_tracekit.autotrace import state

    current = state()
    if current is None:
        return []
    messages: list[CheckMessage] = []
    if current.imported_before:
        messages.append(CheckWarning(
            "These included modules were imported before auto-tracing was installed and are "
            f"not auto-traced: {', '.join(current.imported_before)}.",
            hint="List 'django_tracekit' first in INSTALLED_APPS, or exclude these modules "
                 "with TRACEKIT['AUTOTRACE']['EXCLUDE'].",
            id="django_tracekit.W030"))
    for module, reason in current.fallbacks:
        messages.append(CheckWarning(
            f"Auto-tracing could not instrument {module} ({reason}); it was imported "
            "without auto-tracing.",
            hint=f"Add {module!r} to TRACEKIT['AUTOTRACE']['EXCLUDE'] to silence this.",
            id="django_tracekit.W031"))
    return messages
