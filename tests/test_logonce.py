"""A failure inside tracekit is logged once per process, then only counted."""

from __future__ import annotations

import logging

import pytest

from django_tracekit.logonce import LogOnce


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
