"""A failure inside tracekit is logged once per process, then only counted."""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
import uuid

import pytest

from django_tracekit.core import logonce
from django_tracekit.core.logonce import LogOnce


def test_first_failure_is_logged_with_its_traceback_then_only_counted(
        caplog: pytest.LogCaptureFixture) -> None:
    once = LogOnce("a hook broke")
    with caplog.at_level(logging.ERROR, logger="django_tracekit"):
        for attempt in range(3):
            try:
                raise RuntimeError(f"broken {attempt}")
            except RuntimeError:
                once.failed()
    [record] = caplog.records
    assert record.getMessage() == "tracekit: a hook broke (logged once per process)"
    assert record.exc_info is not None and str(record.exc_info[1]) == "broken 0"
    assert once.count == 3


# --- limits shared by a process family (issue 21, item 7) ---------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_children_share_the_limit_of_their_family() -> None:
    """Each child of a pool that runs one task and exits meets the same outage: one line
    for the family, not one per child; the next one that passes counts the others."""
    key = f"test-family-{uuid.uuid4().hex}"
    passed = []
    for _ in range(6):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a child: asks once, as a one-task child does, and exits
            os.write(write, b"1" if logonce.allow(key)[0] else b"0")
            os._exit(0)
        os.close(write)
        passed.append(os.read(read, 1))
        os.close(read)
        os.waitpid(pid, 0)
    assert passed == [b"1"] + [b"0"] * 5
    assert logonce.family_path() is not None
    # A minute later the next line passes with the count of those held back.
    assert logonce.allow(key, now=time.time() + 61)[:2] == (True, 5)


def test_an_outage_that_goes_on_is_logged_less_and_less_often() -> None:
    key = f"test-backoff-{uuid.uuid4().hex}"
    start = 1_000_000.0
    passed_at = [t for t in range(0, 3600, 10) if logonce.allow(key, 60.0, start + t)[0]]
    # 60 s, then 120, 240, 480, 960 s apart (capped at MAX_EVERY_S).
    assert passed_at == [0, 60, 180, 420, 900, 1860, 2820]
    assert logonce.allow(key, 60.0, start + 9000)[0]  # quiet for long: back to a minute
    assert not logonce.allow(key, 60.0, start + 9030)[0]
    assert logonce.allow(key, 60.0, start + 9060)[0]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_child_forked_while_another_thread_holds_the_lock_does_not_wait() -> None:
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with logonce._local_lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(30)
    read, write = os.pipe()
    try:
        pid = os.fork()
        if pid == 0:  # only the forking thread lives on: the holder never releases here
            logonce.allow(f"test-fork-lock-{os.getpid()}")
            os.write(write, b"1")
            os._exit(0)
        os.close(write)
        answered = select.select([read], [], [], 30)[0]
        if not answered:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        release.set()
        holder.join()
        os.close(read)
    assert answered, "the child waited on a lock another thread of its parent held"
