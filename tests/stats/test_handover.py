"""Counts handed from one process to another through a file (a Celery pool child past its
hard time limit to the worker's main process): all of them or none, written once, by the
process that takes them; nothing but stats records is ever unpickled."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind

from django_tracekit.core import errors
from django_tracekit.destinations.stats import handover
from django_tracekit.destinations.stats.groups import GroupBatch
from tests.stats.test_processor import make

TASK = "shop/tasks/resize"


def _child_counts() -> tuple[object, object, list[GroupBatch]]:
    """A processor that counted one failed task (an error, its group, a user) and one
    request, and the error groups it would write."""
    batches: list[GroupBatch] = []
    provider, processor, capture = make(group_writer=batches.append)
    tracer = provider.get_tracer("django_tracekit")
    with tracer.start_as_current_span(TASK, kind=SpanKind.CONSUMER,
                                      attributes={"enduser.id": "7"}) as span:
        errors.record_error(TimeoutError("too slow"), span)
    tracer.start_span("GET /orders/", kind=SpanKind.SERVER).end()
    return processor, capture, batches


def test_the_counts_handed_over_are_written_once_by_the_process_that_takes_them(
        tmp_path: Path) -> None:
    child, child_writes, child_groups = _child_counts()
    path = str(tmp_path / "task-1")
    assert handover.hand_over(path, [child]) is True
    assert not os.path.exists(path + ".part")
    assert child.flush() is True  # nothing left to write in the child
    assert child_writes.totals == {} and child_writes.errors == []
    assert child_groups == []

    main_groups: list[GroupBatch] = []
    _provider, main, main_writes = make(group_writer=main_groups.append)
    assert handover.adopt(path, main) is True
    assert not os.path.exists(path)
    assert main.flush() is True
    assert main_writes.totals == {(TASK, "task"): [1, 1], ("GET /orders/", "request"): [1, 0]}
    assert [e.type for e in main_writes.errors] == ["TimeoutError"]
    assert sum(n for batch in main_groups for n in batch.counts.values()) == 1
    assert handover.adopt(path, main) is False  # taken once


def test_nothing_counted_still_leaves_the_file_that_says_counted(tmp_path: Path) -> None:
    _provider, empty, _writes = make()
    path = str(tmp_path / "task-2")
    assert handover.hand_over(path, [empty]) is True
    assert os.path.exists(path)
    assert handover.adopt(path, empty) is True


def test_a_file_that_cannot_be_written_keeps_the_counts_here(tmp_path: Path) -> None:
    child, child_writes, _groups = _child_counts()
    assert handover.hand_over(str(tmp_path / "missing" / "task-3"), [child]) is False
    assert child.flush() is True
    assert child_writes.totals[(TASK, "task")] == [1, 1]


def test_a_file_holding_anything_but_records_is_not_loaded(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "task-4"
    path.write_bytes(pickle.dumps([os.system]))  # a function: never called, never loaded
    _provider, main, writes = make()
    with caplog.at_level(logging.WARNING, logger="django_tracekit"):
        assert handover.adopt(str(path), main) is True
    assert "unreadable" in caplog.text and "posix.system is not a stats record" in caplog.text
    assert main.flush() is True and writes.totals == {}
