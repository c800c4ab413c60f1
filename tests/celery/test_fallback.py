"""The hard-time-limit fallback count's private seams and its wait for the pool child."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_counts_are_taken_only_from_this_users_private_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user could plant a file in a directory anyone can write to: never read."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setattr(fallback, "_directory", lambda: str(shared))
    (shared / "task-1").write_bytes(b"planted")
    assert fallback.take_counted("task-1") is False
    assert (shared / "task-1").read_bytes() == b"planted"  # not read, not removed
    fallback.mark_counted("task-2")  # nor written to
    assert not (shared / "task-2").exists()

    shared.chmod(0o700)
    fallback.mark_counted("task-2")
    assert fallback.take_counted("task-2") is True
    assert not (shared / "task-2").exists()
