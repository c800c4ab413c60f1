"""structlog's stdlib integration through the factory (the Styleguide trial's set-up:
django-structlog, ``ProcessorFormatter`` on the handler, ``format_exc_info``): the formatter's
``logging.makeLogRecord`` copies never fail and are no events; an event dict renders as its
``event`` text plus its keys as attributes, redacted; a logged exception is recorded once,
without a second copy of its traceback as text."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

import django_tracekit as tracekit
from django_tracekit.core.redaction import REDACTED
from tests.conftest import Spans
from tests.logs.conftest import exception_events, log_events

structlog = pytest.importorskip("structlog", reason="structlog (test extra)")


class StructlogSetup:
    """The stdlib logger ``name`` writing through structlog's ProcessorFormatter, and a
    structlog logger on it configured as django-structlog projects do."""

    def __init__(self, name: str) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(structlog.stdlib.ProcessorFormatter(
            processor=structlog.processors.JSONRenderer()))
        self.stdlib = logging.getLogger(name)
        self.stdlib.setLevel(logging.DEBUG)
        self.stdlib.propagate = False
        self.stdlib.addHandler(self.handler)
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.filter_by_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.stdlib.add_logger_name,
                structlog.stdlib.add_log_level,
                structlog.stdlib.PositionalArgumentsFormatter(),
                structlog.processors.StackInfoRenderer(),
                structlog.dev.set_exc_info,
                structlog.processors.format_exc_info,
                structlog.processors.UnicodeDecoder(),
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            cache_logger_on_first_use=False,
        )
        self.logger = structlog.get_logger(name)

    def close(self) -> None:
        self.stdlib.removeHandler(self.handler)
        structlog.reset_defaults()


@pytest.fixture
def structured() -> Iterator[StructlogSetup]:
    made = StructlogSetup("tests.logs.structured")
    yield made
    made.close()


def test_make_log_record_copies_neither_fail_nor_become_events(
        spans: Spans, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="django_tracekit"), tracekit.span("outer"):
        copy = logging.makeLogRecord({"msg": "x", "levelno": 20, "name": "a"})
        empty = logging.makeLogRecord({})
    assert copy.levelno == 20 and copy.getMessage() == "x" and empty.levelno is None
    assert "log record" not in caplog.text  # no "turning a log record ... failed"
    assert log_events(spans.named("outer")) == []


def test_a_structlog_event_renders_as_its_text_and_keys(
        spans: Spans, structured: StructlogSetup, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="django_tracekit"), tracekit.span("outer"):
        structured.logger.info("request_started", request="POST /api/users/", user_id=7,
                               api_token="abc123", ip="127.0.0.1", code=None)
    assert "log record" not in caplog.text
    assert '"event": "request_started"' in structured.stream.getvalue()  # the handler's line
    [event] = log_events(spans.named("outer"))
    assert event["log.message"] == "request_started"
    assert event["log.request"] == "POST /api/users/" and event["log.user_id"] == 7
    assert event["log.api_token"] == REDACTED and event["log.ip"] == "127.0.0.1"
    assert event["log.severity"] == "INFO" and event["log.logger"] == "tests.logs.structured"
    # What the event already says (level, logger, time) is not repeated; None is left out.
    repeated = {"log.level", "log.logger_name", "log.timestamp", "log.code", "log.event"}
    assert not repeated & set(event)


def test_a_logged_exception_is_recorded_once_without_a_text_copy_of_its_traceback(
        spans: Spans, structured: StructlogSetup) -> None:
    def fail() -> None:
        raise ValueError("Oops")

    with tracekit.span("outer"):
        try:
            fail()
        except ValueError:
            structured.logger.exception("unhandled_exception", order=3)
    assert "Traceback" in structured.stream.getvalue()  # the handler still prints it
    outer = spans.named("outer")
    [event] = log_events(outer)
    assert event["log.message"] == "unhandled_exception" and event["log.order"] == 3
    assert event["exception.type"] == "ValueError"
    assert not any("Traceback" in str(v) for v in event.values()), event
    [recorded] = exception_events(outer)
    assert recorded["exception.message"] == "Oops" and "fail" in recorded["exception.stacktrace"]


def test_a_traceback_text_without_the_exception_at_hand_is_kept(spans: Spans,
                                                                structured: StructlogSetup) -> None:
    with tracekit.span("outer"):
        structured.logger.error("failed_elsewhere", exception="Traceback ...\nKeyError: 'x'")
    [event] = log_events(spans.named("outer"))
    assert event["log.exception"] == "Traceback ...\nKeyError: 'x'"
    assert exception_events(spans.named("outer")) == []


def _event(**values: Any) -> logging.LogRecord:
    return logging.LogRecord("shape", logging.WARNING, __file__, 1, values, (), None)


def test_a_dict_message_without_an_event_key_is_an_ordinary_message(spans: Spans) -> None:
    from django_tracekit.sources.logs import events

    with tracekit.span("outer") as span:
        events.add(span, _event(a=1))
    [event] = log_events(spans.named("outer"))
    assert event["log.message"] == "{'a': 1}"
