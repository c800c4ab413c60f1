"""The feature page's word for a task's retries: flaky when tasks passed only after a retry
(``retried_tasks``), said apart from the tasks that failed in the end, after their retries
(the Styleguide trial's "flaky 6 of 9" counted those too); failing when retries happened and
none of the tasks passed after one (Misago's upgrade_post_content)."""

from __future__ import annotations

from django_tracekit.pages.usage.task_outcomes import task_outcomes


def row(calls: int, errors: int, retried: int, retries: int = 6) -> dict[str, object]:
    return {"kind": "task", "calls": calls, "errors": errors, "retries": retries,
            "failed_attempts": retries + errors, "retried_tasks": retried}


def test_passed_after_a_retry_is_flaky_and_failures_after_retries_are_said_apart() -> None:
    task = task_outcomes(row(calls=9, errors=3, retried=6))["task"]
    assert task["label"] == "flaky"
    assert task["flaky"] == "6 of 9 tasks passed only after a retry; 3 failed in the end"
    clean_pass = task_outcomes(row(calls=10, errors=0, retried=2))["task"]
    assert clean_pass["flaky"] == "2 of 10 tasks passed only after a retry"


def test_retried_and_none_passed_after_a_retry_is_failing() -> None:
    task = task_outcomes(row(calls=2, errors=2, retried=0))["task"]
    assert task["label"] == "failing"
    assert task["flaky"] == "2 of 2 tasks failed in the end, none passed after a retry"


def test_no_retry_no_label_and_not_a_task_nothing() -> None:
    assert task_outcomes(row(calls=5, errors=1, retried=0, retries=0))["task"]["label"] is None
    assert task_outcomes({"kind": "request"}) == {}
