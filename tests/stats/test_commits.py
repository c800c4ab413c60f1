"""A callback waits for the commit of every count so far (a Celery child's "counted" marker):
it runs after the write that commits them, whichever flush that is, and never before."""

from __future__ import annotations

from django_tracekit.destinations.stats.commits import Commits
from tests.stats.test_processor import make


def test_runs_at_once_when_nothing_is_pending() -> None:
    calls: list[str] = []
    Commits().when_committed(lambda: calls.append("now"))
    assert calls == ["now"]


def test_marker_follows_the_later_flush_that_commits_after_a_failed_one() -> None:
    provider, processor, capture = make()
    tracer = provider.get_tracer("django_tracekit")
    tracer.start_span("tests/tasks/hard_limited", attributes={"messaging.system": "celery"}).end()
    marked: list[int] = []
    processor.commits.when_committed(lambda: marked.append(capture.calls))
    capture.down = True  # the database is busy for the child's own flush
    assert processor.flush() is False
    assert marked == []  # not committed: the main process would rightly count it
    capture.down = False
    tracer.start_span("tests/tasks/other", attributes={"messaging.system": "celery"}).end()
    assert processor.flush() is True  # e.g. the exit's flush commits it
    assert marked == [2]  # right after the write that committed it, once
    assert capture.totals[("tests/tasks/hard_limited", "task")] == [1, 0]
    assert processor.flush() is True and marked == [2]


def test_a_span_counted_after_the_callback_does_not_hold_it_back() -> None:
    provider, processor, _capture = make()
    tracer = provider.get_tracer("django_tracekit")
    tracer.start_span("a").end()
    marked: list[bool] = []
    processor.commits.when_committed(lambda: marked.append(True))
    assert processor.flush() is True and marked == [True]
    tracer.start_span("b").end()  # pending, but not what the callback waited for
    processor.commits.when_committed(lambda: marked.append(False))
    assert marked == [True]
    assert processor.flush() is True and marked == [True, False]
