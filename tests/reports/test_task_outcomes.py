"""The feature page's word for a task's retries: flaky only when a retried task can be known
to have passed; failing when the retries did not help (Misago's upgrade_post_content)."""

from __future__ import annotations

from django_tracekit.pages.usage.task_outcomes import task_outcomes


def row(calls: int, errors: int, retried: int) -> dict[str, object]:
    return {"kind": "task", "calls": calls, "errors": errors, "retries": retried * 3,
            "failed_attempts": retried * 3 + errors, "retried_tasks": retried}


def test_retried_then_passed_is_flaky() -> None:
    assert task_outcomes(row(calls=10, errors=0, retried=2))["task"]["label"] == "flaky"


def test_every_retried_task_gave_up_is_failing() -> None:
    task = task_outcomes(row(calls=2, errors=2, retried=2))["task"]
    assert task["label"] == "failing"
    assert task["flaky"] == "2 of 2 tasks needed a retry"


def test_no_retry_no_label_and_not_a_task_nothing() -> None:
    assert task_outcomes(row(calls=5, errors=1, retried=0))["task"]["label"] is None
    assert task_outcomes({"kind": "request"}) == {}
