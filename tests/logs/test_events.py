"""A record's event: message, level, logger, code location, thread; caps per span and per
message; bad input never raises; a record with an exception is recorded once, full stack."""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Sequence

import pytest
from django.http import Http404
from opentelemetry.trace import StatusCode

import django_tracekit as tracekit
from django_tracekit.core.errors import ERROR_SPAN_ID
from django_tracekit.sources.logs import events
from tests.conftest import Spans
from tests.logs.conftest import Logged, attributes, exception_events, log_events


def _order_event(logged: Logged, line: int, function: str) -> dict[str, object]:
    """The attributes of the event of ``logger.warning("order %s: %d items", "A-1", 3)``
    logged by ``function`` at ``line`` of this file."""
    return {
        "log.message": "order A-1: 3 items",
        "log.severity": "WARNING",
        "log.severity_number": 13,
        "log.logger": logged.logger.name,
        "code.file.path": __file__,
        "code.line.number": line,
        "code.function.name": function,
        "thread.name": threading.current_thread().name,
    }


def test_an_event_has_message_level_logger_location_and_thread(spans: Spans,
                                                                logged: Logged) -> None:
    with tracekit.span("outer"):
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        logged.logger.warning("order %s: %d items", "A-1", 3)
    (event,) = log_events(spans.named("outer"))
    assert event == _order_event(
        logged, line, "test_an_event_has_message_level_logger_location_and_thread")
    (recorded,) = spans.named("outer").events
    assert abs(recorded.timestamp - logged.kept.records[0].created * 1e9) < 1e6


@pytest.mark.parametrize(("level", "number"), [(logging.DEBUG, 5), (logging.INFO, 9),
                                               (logging.WARNING, 13), (logging.ERROR, 17),
                                               (logging.CRITICAL, 21), (5, 0), (21, 10),
                                               (60, 24)])
def test_severity_numbers_follow_the_sdk(level: int, number: int) -> None:
    from opentelemetry.sdk._logs._internal import std_to_otel

    assert events.severity_number(level) == number == std_to_otel(level).value


def test_a_flood_is_capped_per_span_with_a_count_of_what_was_dropped(
        spans: Spans, logged: Logged) -> None:
    with tracekit.span("flood"):
        for index in range(10_000):
            logged.logger.info("record %d", index)
        with tracekit.span("child"):
            logged.logger.info("the child has its own cap")
        try:
            raise RuntimeError("after the flood")
        except RuntimeError:
            logged.logger.exception("failed")
    flood = spans.named("flood")
    messages = [e["log.message"] for e in log_events(flood)]
    assert messages == [f"record {i}" for i in range(events.MAX_EVENTS_PER_SPAN)]
    assert attributes(flood)[events.DROPPED] == 10_001 - events.MAX_EVENTS_PER_SPAN
    # The error is never dropped: its exception event follows the capped log events.
    assert len(exception_events(flood)) == 1
    assert flood.status.status_code is StatusCode.ERROR
    assert len(log_events(spans.named("child"))) == 1
    assert events.DROPPED not in (spans.named("child").attributes or {})
    assert len(logged.kept.records) == 10_002  # the handlers saw every record


def test_the_cap_holds_across_threads(spans: Spans, logged: Logged) -> None:
    from opentelemetry import context

    with tracekit.span("shared"):
        parent = context.get_current()

        def work() -> None:
            token = context.attach(parent)
            try:
                for _ in range(200):
                    logged.logger.info("threaded")
            finally:
                context.detach(token)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    shared = spans.named("shared")
    assert len(log_events(shared)) == events.MAX_EVENTS_PER_SPAN
    assert attributes(shared)[events.DROPPED] == 800 - events.MAX_EVENTS_PER_SPAN


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "<Unprintable>"


def test_a_message_that_cannot_be_formatted_never_raises(
        spans: Spans, capsys: pytest.CaptureFixture[str]) -> None:
    # Made in the test body: pytest's capture handler (which fails a test on a logging
    # error) is attached to the loggers that exist when the test starts.
    logged = Logged()
    with tracekit.span("outer"):
        logged.logger.warning("%d items", "many")
        logged.logger.warning("%s and %s", "only one")
        logged.logger.warning(Unprintable())
        logged.logger.warning("fine")
    found = [e["log.message"] for e in log_events(spans.named("outer"))]
    assert found[0] == ("<log message could not be formatted: TypeError> "
                        "msg='%d items' args=('many',)")
    assert found[1].startswith("<log message could not be formatted: TypeError> msg='%s and %s'")
    assert found[2] == ("<log message could not be formatted: RuntimeError> "
                        "msg=<Unprintable> args=()")
    assert found[3] == "fine"
    # logging's own behaviour is unchanged: the handler reports its formatting errors.
    assert capsys.readouterr().err.count("--- Logging error ---") == 3
    logged.close()


def test_a_huge_message_is_capped(spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer"):
        logged.logger.warning("x" * 1_000_000)
    (event,) = log_events(spans.named("outer"))
    text = event["log.message"]
    assert text.startswith("x" * events.MAX_MESSAGE_CHARS)
    assert text.endswith(f"... [tracekit: {1_000_000 - events.MAX_MESSAGE_CHARS} more characters]")
    assert len(text) < events.MAX_MESSAGE_CHARS + 64


def test_secrets_in_messages_are_redacted(spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer"):
        logged.logger.warning("login failed for user=bob password=%s", "hunter2")
    (event,) = log_events(spans.named("outer"))
    assert event["log.message"] == "login failed for user=bob password=[redacted]"


def fail_deep() -> None:
    raise ValueError("deep")


def handle_and_log(logger: logging.Logger) -> None:
    try:
        fail_deep()
    except ValueError:
        logger.exception("could not do it")


def test_logger_exception_is_recorded_like_record_error(spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer"):
        handle_and_log(logged.logger)
    outer = spans.named("outer")
    (event,) = log_events(outer)
    assert event["log.message"] == "could not do it"
    assert event["exception.type"] == "ValueError"
    (error,) = exception_events(outer)
    assert [e.name for e in outer.events] == ["log", "exception"]  # the message first
    assert error["exception.type"] == "ValueError"
    stack = error["exception.stacktrace"]
    # Full stack: the callers above the handler (this test) and the raise point below it.
    assert "in test_logger_exception_is_recorded_like_record_error" in stack
    assert stack.index("in handle_and_log") < stack.index("in fail_deep")
    assert outer.status.status_code is StatusCode.ERROR
    assert attributes(outer)["error.type"] == "ValueError"


def test_an_exception_logged_then_raised_is_recorded_once(spans: Spans, logged: Logged) -> None:
    with pytest.raises(KeyError), tracekit.span("outer"), tracekit.span("inner"):
        try:
            raise KeyError("k")
        except KeyError:
            logged.logger.error("giving up", exc_info=True)
            raise
    inner, outer = spans.named("inner"), spans.named("outer")
    assert len(exception_events(inner)) == 1
    assert exception_events(outer) == []  # a reference, not a second copy
    assert attributes(outer)[ERROR_SPAN_ID] == format(inner.get_span_context().span_id, "016x")  # type: ignore[union-attr]


def test_an_exception_recorded_first_is_not_recorded_again_by_its_log(
        spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer"):
        try:
            raise KeyError("k")
        except KeyError as exc:
            tracekit.record_error(exc)
            logged.logger.exception("also logged")
    outer = spans.named("outer")
    assert len(exception_events(outer)) == 1
    assert [e["log.message"] for e in log_events(outer)] == ["also logged"]


def test_an_exception_instance_that_was_never_raised(spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer"):
        logged.logger.error("rejected", exc_info=ValueError("never raised"))
    (error,) = exception_events(spans.named("outer"))
    # Its stack starts where the logger was called.
    assert "in test_an_exception_instance_that_was_never_raised" in \
        error["exception.stacktrace"].splitlines()[-2]


def test_expected_outcomes_and_empty_exc_info_are_not_errors(spans: Spans,
                                                             logged: Logged) -> None:
    with tracekit.span("outer"):
        logged.logger.warning("Not Found: /x", exc_info=Http404("x"))  # as django.request
        logged.logger.exception("no exception being handled")  # exc_info (None, None, None)
    outer = spans.named("outer")
    assert len(log_events(outer)) == 2
    assert exception_events(outer) == []
    assert outer.status.status_code is StatusCode.UNSET


def test_records_below_the_level_with_an_exception_are_not_recorded(
        spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer"):
        logged.logger.debug("noise", exc_info=ValueError("x"))
    assert spans.named("outer").events == ()


class LogsWhenPrinted:
    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def __str__(self) -> str:
        self.logger.warning("inside __str__")
        return "printed"


def test_an_argument_whose_str_logs_is_formatted_untraced(spans: Spans, logged: Logged) -> None:
    """Only arguments of plain types (str, int, float, bool, None) skip the guard: any other
    object's ``__str__`` is application code, run untraced (its own records are no events)."""
    with tracekit.span("outer"):
        logged.logger.warning("value %s", LogsWhenPrinted(logged.logger))
        logged.logger.warning("plain %s %d %.1f %s %s", "a", 1, 2.0, True, None)
    found = [e["log.message"] for e in log_events(spans.named("outer"))]
    # Not "inside __str__" first: tracekit formats the record before the handlers do (their
    # formatting is the application's: its records are events, after ours).
    assert found[0] == "value printed" and found[-1] == "plain a 1 2.0 True None"
    assert set(found[1:-1]) == {"inside __str__"}


def test_events_skip_the_sdks_validation_only_on_its_own_span_types() -> None:
    """The private seam (docs/PRIVATE_SEAMS.md): the SDK's span classes keep ``_add_event``
    and ``_limits``; with a value length limit set the SDK's own path truncates."""
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider

    plain = TracerProvider().get_tracer("t").start_span("s")
    assert type(plain) in events._PLAIN_SDK_SPANS
    assert plain._limits.max_attribute_length is None  # type: ignore[attr-defined]
    record = logging.LogRecord("shop", logging.INFO, __file__, 1, "order %s", ("A-1",), None)
    events.add(plain, record)
    limited = TracerProvider(span_limits=SpanLimits(max_attribute_length=5)) \
        .get_tracer("t").start_span("s")
    events.add(limited, record)
    for span, text in ((plain, "order A-1"), (limited, "order")):
        span.end()
        (event,) = span.events  # type: ignore[attr-defined]
        assert event.name == events.EVENT_NAME and event.attributes["log.message"] == text


@pytest.mark.parametrize("fast", [True, False])
def test_an_event_made_directly_equals_the_sdks_own(monkeypatch: pytest.MonkeyPatch,
                                                    fast: bool) -> None:
    """The private seams of the event itself (docs/PRIVATE_SEAMS.md): ``Event``'s fields and
    the span's ``_lock``/``_end_time``/``_events``, found on this SDK; without them (a
    release renaming them) the SDK's ``Event`` and ``_add_event`` give the same event."""
    from opentelemetry.sdk.trace import Event, TracerProvider

    assert events._FAST_EVENT and events._direct_append_ok()
    monkeypatch.setattr(events, "_FAST_EVENT", fast)
    monkeypatch.setattr(events, "_DIRECT_APPEND", fast)
    span = TracerProvider().get_tracer("t").start_span("s")
    record = logging.LogRecord("shop", logging.INFO, __file__, 7, "order %s", ("A-1",), None)
    events.add(span, record)
    span.end()
    events.add(span, record)  # ended: no event, as the SDK's add_event
    (event,) = span.events  # type: ignore[attr-defined]
    assert isinstance(event, Event) and (type(event) is Event) is not fast
    sdk = Event(events.EVENT_NAME, events.attributes(record, None), int(record.created * 1e9))
    assert (event.name, event.timestamp, dict(event.attributes or {}),
            getattr(event, "dropped_attributes", 0)) == (sdk.name, sdk.timestamp,
                                                         dict(sdk.attributes or {}), 0)


def test_the_per_span_count_lives_on_the_span_itself(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    from django_tracekit.core.spans import AutoSpan

    monkeypatch.setattr(events, "MAX_EVENTS_PER_SPAN", 2)
    sdk = TracerProvider().get_tracer("t").start_span("s")
    parent = sdk.get_span_context()
    slotted = AutoSpan("auto", parent, parent, {}, 0)
    record = logging.LogRecord("shop", logging.INFO, __file__, 7, "order %s", ("A-1",), None)
    for span in (sdk, slotted):
        for _ in range(5):
            events.add(span, record)
        assert len(log_events_of(span)) == 2
        assert span._attributes[events.DROPPED] == 3  # type: ignore[attr-defined]
        assert events._COUNT in vars(span) and span not in events._counts


def log_events_of(span: object) -> list[object]:
    found = getattr(span, "_events", ())
    return [e for e in found if e.name == events.EVENT_NAME]


def test_a_span_without_a_dict_is_counted_beside_it() -> None:
    class Slotted:  # a span type of another library: no __dict__, weak-referenceable
        __slots__ = ("__weakref__",)

    span = Slotted()
    assert [events._next_index(span) for _ in range(3)] == [0, 1, 2]  # type: ignore[arg-type]
    assert span in events._counts


class Rewrite(logging.Handler):
    """A handler that rewrites every record it is given, as colouring formatters do with
    ``levelname`` and a ``QueueHandler`` before Python 3.12 did with ``msg``/``args``."""

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = "rewritten", None
        record.levelname, record.name = "\x1b[33mWARNING\x1b[0m", "rewritten"
        record.lineno, record.funcName, record.threadName = 0, "rewritten", "rewritten"


def test_an_event_has_the_values_of_its_record_when_it_was_logged(spans: Spans,
                                                                   logged: Logged) -> None:
    """An event built when it is first read (after the span ended) shows what was logged:
    a mutable argument changed afterwards and a handler rewriting the record change nothing."""
    rewrite = Rewrite()
    logged.logger.addHandler(rewrite)
    items = ["a"]
    try:
        with tracekit.span("outer"):
            line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
            logged.logger.warning("order %s: %d items", "A-1", 3)
            logged.logger.warning("items %s", items)
            logged.logger.warning("named %(items)s", {"items": items})
            items.append("b")
    finally:
        logged.logger.removeHandler(rewrite)
    assert logged.kept.records[0].msg == "rewritten"  # the handler did run
    first, listed, named = log_events(spans.named("outer"))
    assert first == _order_event(
        logged, line, "test_an_event_has_the_values_of_its_record_when_it_was_logged")
    assert listed["log.message"] == "items ['a']"
    assert named["log.message"] == "named ['a']"


def test_an_exporter_sees_the_events_attributes() -> None:
    """The ReadableSpan an exporter is handed carries every log event with its attributes
    (read through ``attributes`` or the SDK's ``_attributes`` field), the record's time, no
    dropped attributes: the same as the SDK's own event of those attributes."""
    from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        SimpleSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    seen: list[tuple[object, ...]] = []

    class Reading(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            for span in spans:
                seen.extend((e.name, e.timestamp, dict(e.attributes or {}),
                             dict(e._attributes or {}),  # type: ignore[attr-defined]
                             e.dropped_attributes) for e in span.events)
            return SpanExportResult.SUCCESS

    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(Reading()))
    span = provider.get_tracer("t").start_span("s")
    record = logging.LogRecord("shop", logging.INFO, __file__, 7, "order %s for %s",
                               ("A-1", "token=abc"), None)
    events.add(span, record)
    (pending,) = span.events  # type: ignore[attr-defined]
    assert type(pending) is events._DeferredLogEvent
    assert pending._made is None  # type: ignore[attr-defined]  # built when first read
    span.end()
    sdk = Event(events.EVENT_NAME, events.attributes(record, None), int(record.created * 1e9))
    assert sdk.attributes is not None and "token=[redacted]" in sdk.attributes["log.message"]
    assert seen == [(sdk.name, sdk.timestamp, dict(sdk.attributes), dict(sdk.attributes), 0)]


def test_deferred_events_fill_the_sdks_bounded_list_as_its_own_add_event(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The private seam (docs/PRIVATE_SEAMS.md): a deferred event is appended to the span's
    ``BoundedList`` deque directly (under the span's lock): the SDK's event limit keeps the
    last events and counts the others as ``add_event`` does; without the deque, ``append``."""
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider

    events._check_direct_append()
    assert events._BOUNDED_DEQUE and events._deferring_spans == events._PLAIN_SDK_SPANS
    tracer = TracerProvider(span_limits=SpanLimits(max_events=3),
                            shutdown_on_exit=False).get_tracer("t")
    records = [logging.LogRecord("shop", logging.INFO, __file__, 7, "order %d", (n,), None)
               for n in range(5)]
    made = []
    for direct in (True, False):
        monkeypatch.setattr(events, "_BOUNDED_DEQUE", direct)
        span = tracer.start_span("s")
        for record in records:
            events.add(span, record)
        span.end()
        made.append(([e.attributes["log.message"] for e in span.events],  # type: ignore[attr-defined]
                     span._events.dropped))  # type: ignore[attr-defined]
    sdk = tracer.start_span("s")
    for record in records:
        sdk.add_event(events.EVENT_NAME, events.attributes(record, None))
    sdk.end()
    expected = ([e.attributes["log.message"] for e in sdk.events],  # type: ignore[index]
                sdk._events.dropped)  # type: ignore[attr-defined]
    assert made == [expected, expected] == [(["order 2", "order 3", "order 4"], 2)] * 2


def test_events_are_built_at_once_where_they_cannot_be_deferred(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No deferred event if the SDK's ``Event`` would not read one back (a release changing
    its fields), nor with an event attribute limit it may exceed: the same attributes."""
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider

    assert events._deferred_reads_back()
    record = logging.LogRecord("shop", logging.INFO, __file__, 7, "order %s", ("A-1",), None)
    expected = events.attributes(record, None)
    narrow = TracerProvider(span_limits=SpanLimits(max_event_attributes=4),
                            shutdown_on_exit=False).get_tracer("t").start_span("s")
    monkeypatch.setattr(events, "_deferring_spans", frozenset())
    plain = TracerProvider(shutdown_on_exit=False).get_tracer("t").start_span("s")
    for span, kept in ((narrow, 4), (plain, len(expected))):
        events.add(span, record)
        span.end()
        (event,) = span.events  # type: ignore[attr-defined]
        assert type(event) is not events._DeferredLogEvent
        # (the SDK's own limit keeps the last attributes)
        assert dict(event.attributes) == dict(list(expected.items())[len(expected) - kept:])


def test_a_deferred_event_copies_and_pickles_before_it_is_built() -> None:
    """A copied or pickled span's events (``BoundedList.__deepcopy__``, a process pool) build
    the same attributes, an eagerly formatted message included."""
    import copy
    import pickle

    from opentelemetry.sdk.trace import TracerProvider

    span = TracerProvider(shutdown_on_exit=False).get_tracer("t").start_span("s")
    for line, args in ((7, ("A-1",)), (8, (["a"],))):
        events.add(span, logging.LogRecord("shop", logging.INFO, __file__, line, "order %s",
                                           args, None))
    originals = list(span._events)  # type: ignore[attr-defined]
    copies = [[copy.deepcopy(e) for e in originals],
              [pickle.loads(pickle.dumps(e)) for e in originals]]
    assert all(e._made is None for e in originals)  # type: ignore[attr-defined]
    for copied in copies:
        assert [(e.name, e.timestamp, e.attributes) for e in copied] == [
            (e.name, e.timestamp, e.attributes) for e in originals]
    assert [e.attributes["log.message"] for e in originals] == ["order A-1", "order ['a']"]
