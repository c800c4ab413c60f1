"""Fixtures of the logs tests: a fresh logger per test (level DEBUG, its own handler) and
the events a span got from log records."""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from django_tracekit.sources.logs import events

_names = itertools.count()


class Keep(logging.Handler):
    """Keeps the records it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Logged:
    """A logger of its own (propagate=False, so pytest's capture sees nothing) writing
    through a real ``logging.Formatter`` into ``stream``."""

    FORMAT = ("%(levelname)s %(otelTraceID)s %(otelSpanID)s %(otelTraceSampled)s "
              "[%(otelServiceName)s] %(message)s")

    def __init__(self) -> None:
        self.logger = logging.getLogger(f"tests.logs.case{next(_names)}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter(self.FORMAT))
        self.logger.addHandler(self.handler)
        self.kept = Keep()
        self.logger.addHandler(self.kept)

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.removeHandler(self.kept)


@pytest.fixture
def logged() -> Iterator[Logged]:
    made = Logged()
    yield made
    made.close()


def log_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == events.EVENT_NAME]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def exception_events(span: ReadableSpan) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == "exception"]
