"""What the feature page says about a task's attempts: retries, failed attempts, flakiness.

A task feature's ``calls`` and ``errors`` count tasks (their final attempt); the attempts
Celery retried are ``retries``. A task whose attempts failed and that then passed is flaky,
not clean: the page says how many tasks needed a retry.
"""

from __future__ import annotations

from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from django_tracekit.core.features import TASK


def task_outcomes(row: dict[str, Any]) -> dict[str, Any]:
    """Context for ``_task_outcomes.html`` (empty for anything but a task)."""
    if row.get("kind") != TASK:
        return {}
    calls, retried = row["calls"], row["retried_tasks"]

    def fmt(n: int) -> str:
        return number_format(n, force_grouping=True)

    flaky = None
    if retried:
        flaky = ngettext("%(n)s of %(calls)s task needed a retry",
                         "%(n)s of %(calls)s tasks needed a retry", calls) % {
            "n": fmt(retried), "calls": fmt(calls)}
    return {"task": {
        "retries_text": fmt(row["retries"]),
        "failed_attempts_text": fmt(row["failed_attempts"]),
        "retried_tasks_text": fmt(retried),
        "flaky": flaky,
        # At least ``retried - errors`` retried tasks then passed; with none known to have
        # passed, the retries did not help: failing, not flaky.
        "label": (_("flaky") if retried > row["errors"] else _("failing")) if retried else None,
    }}
