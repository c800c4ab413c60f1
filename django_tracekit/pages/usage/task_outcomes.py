"""What the feature page says about a task's attempts: retries, failed attempts, flakiness.

A task feature's ``calls`` and ``errors`` count tasks (their final attempt); the attempts
Celery retried are ``retries``. A task that passed only after a retry is flaky, not clean
(``retried_tasks``); one that failed in the end, after its retries or without any, is an
error: the page says both, separately (a task that failed after retries is not flaky).
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
    calls, retried, failed = row["calls"], row["retried_tasks"], row["errors"]

    def fmt(n: int) -> str:
        return number_format(n, force_grouping=True)

    flaky = None
    if retried:
        flaky = ngettext("%(n)s of %(calls)s task passed only after a retry",
                         "%(n)s of %(calls)s tasks passed only after a retry", calls) % {
            "n": fmt(retried), "calls": fmt(calls)}
        if failed:
            flaky += "; " + ngettext("%(n)s failed in the end", "%(n)s failed in the end",
                                     failed) % {"n": fmt(failed)}
    elif failed and row["retries"]:  # retried, and none of them passed: the retries did not help
        flaky = ngettext("%(n)s of %(calls)s task failed in the end, none passed after a retry",
                         "%(n)s of %(calls)s tasks failed in the end, none passed after a retry",
                         calls) % {"n": fmt(failed), "calls": fmt(calls)}
    return {"task": {
        "retries_text": fmt(row["retries"]),
        "failed_attempts_text": fmt(row["failed_attempts"]),
        "retried_tasks_text": fmt(retried),
        "flaky": flaky,
        "label": (_("flaky") if retried else _("failing")) if flaky else None,
    }}
