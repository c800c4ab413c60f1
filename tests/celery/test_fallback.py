"""The hard-time-limit fallback count's private seams and its wait for the pool child."""

from __future__ import annotations

import subprocess
import sys

import pytest

state = pytest.importorskip("celery.worker.state")  # the core profile has no Celery

from django_tracekit.sources.celery import fallback  # noqa: E402
from django_tracekit.sources.celery.tracing import outcomes  # noqa: E402


def test_the_pool_child_of_a_task_is_found() -> None:
    """``celery.worker.state.active_requests`` holds the worker's requests with their
    ``worker_pid``: a release that renames them fails here."""
    from celery.worker.request import Request

    assert "worker_pid" in dir(Request)
    request = Request.__new__(Request)  # a set that holds requests weakly takes a real one
    request.id = "t-1"
    request.worker_pid = 4242
    state.active_requests.add(request)
    try:
        assert outcomes.child_pid("t-1") == 4242
        assert outcomes.child_pid("t-2") is None
    finally:
        state.active_requests.discard(request)


def test_a_process_is_gone_once_it_ended_even_before_it_is_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    assert not fallback._gone(child.pid)
    assert child.stdin is not None
    child.stdin.close()
    # Not waited for yet: a zombie counts as gone (the worker reaps its children itself).
    while not fallback._gone(child.pid):
        pass
    child.wait()
    assert fallback._gone(child.pid)
