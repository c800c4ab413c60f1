"""The LogRecord factory: every record gets the current ids (a real Formatter prints them),
records become events whatever the logging configuration does (propagate=False, a later
dictConfig, other factories), once, and never from tracekit's or the SDK's own loggers."""

from __future__ import annotations

import json
import logging
import logging.config
import textwrap
import threading
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from opentelemetry import context as otel_context
from opentelemetry import trace

import django_tracekit as tracekit
from django_tracekit.core import tracer as tracer_module
from django_tracekit.sources.autotrace import counters, rewrite, runtime
from django_tracekit.sources.autotrace.context import HookedRuntimeContext
from django_tracekit.sources.logs import factory
from tests.conftest import Spans
from tests.logs.conftest import Keep, Logged, log_events
from tests.support import scripts


def ids_of(span: Any) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def test_a_formatter_prints_the_ids_of_the_current_span(spans: Spans, logged: Logged) -> None:
    with tracekit.span("outer") as span:
        trace_id, span_id = ids_of(span)
        logged.logger.debug("inside")  # below LOGS.LEVEL: ids, no event
        logged.logger.warning("also inside")
    logged.logger.warning("outside")
    service = trace.get_tracer_provider().resource.attributes["service.name"]  # type: ignore[attr-defined]
    assert service  # tracekit's resource names the service
    assert logged.lines() == [
        f"DEBUG {trace_id} {span_id} True [{service}] inside",
        f"WARNING {trace_id} {span_id} True [{service}] also inside",
        f"WARNING 0 0 False [{service}] outside",
    ]
    assert [e["log.message"] for e in log_events(spans.named("outer"))] == ["also inside"]


def test_ids_match_contribs_logging_instrumentor(spans: Spans, logged: Logged) -> None:
    # The peer is in the `bench` extra (not `all`): skipped where only `all` is installed.
    contrib = pytest.importorskip("opentelemetry.instrumentation.logging",
                                  reason="opentelemetry-instrumentation-logging (bench extra)")
    instrumentor = contrib.LoggingInstrumentor()
    # Contrib's factory wraps ours: both set the same attributes, ours runs once.
    instrumentor.instrument(inject_trace_context=True, enable_log_auto_instrumentation=False)
    try:
        with tracekit.span("outer"):
            logged.logger.info("once")
        theirs = {k: v for k, v in vars(logged.kept.records[0]).items() if k.startswith("otel")}
        factory.uninstall()  # ours is wrapped: it stays in the chain, passing through
        factory.install(logging.INFO)
        with tracekit.span("again"):
            logged.logger.info("once again")
    finally:
        instrumentor.uninstrument()
    assert set(theirs) == {"otelTraceID", "otelSpanID", "otelTraceSampled", "otelServiceName"}
    assert len(log_events(spans.named("outer"))) == 1
    # Re-installed under contrib's wrapper: the stale copy passes, the new one records once.
    assert len(log_events(spans.named("again"))) == 1


def test_other_factories_stay_in_the_chain(spans: Spans, logged: Logged) -> None:
    previous = logging.getLogRecordFactory()
    calls: list[str] = []

    def theirs(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.tenant = "acme"
        calls.append(record.getMessage())
        return record

    factory.uninstall()
    logging.setLogRecordFactory(theirs)
    factory.install(logging.INFO)
    try:
        logged.handler.setFormatter(logging.Formatter("%(tenant)s %(otelSpanID)s %(message)s"))
        with tracekit.span("outer") as span:
            logged.logger.info("chained")
    finally:
        factory.uninstall()
        assert logging.getLogRecordFactory() is theirs
        logging.setLogRecordFactory(previous)
        factory.install(logging.INFO)
    assert calls == ["chained"]
    assert logged.lines() == [f"acme {ids_of(span)[1]} chained"]
    assert len(log_events(spans.named("outer"))) == 1


def test_a_non_propagating_logger_is_seen(spans: Spans, logged: Logged) -> None:
    isolated = logging.getLogger("tests.logs.isolated")
    isolated.propagate = False
    isolated.setLevel(logging.INFO)
    isolated.handlers = [logging.NullHandler()]
    with tracekit.span("outer"):
        isolated.info("not propagated")
    assert [e["log.logger"] for e in log_events(spans.named("outer"))] == ["tests.logs.isolated"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_dictconfig_applied_after_setup_changes_nothing(spans: Spans,
                                                        restore_logging: None) -> None:
    # As a project's own ready() or a worker's logging setup would, after tracekit's setup.
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"null": {"class": "logging.NullHandler"}},
        "root": {"handlers": ["null"], "level": "INFO"},
        "loggers": {"tests.logs.configured": {"handlers": ["null"], "propagate": False,
                                              "level": "INFO"}},
    })
    with tracekit.span("outer"):
        logging.getLogger("tests.logs.configured").info("after dictConfig")
        logging.getLogger("tests.logs.through_root").warning("through the root")
    assert [e["log.message"] for e in log_events(spans.named("outer"))] == [
        "after dictConfig", "through the root"]


def test_django_logging_config_and_a_later_dictconfig_in_a_fresh_process() -> None:
    # Django runs dictConfig(LOGGING) before apps' ready(); the script runs another after.
    result = scripts.check(scripts.run_django("""
        import io, logging.config
        import django_tracekit as tracekit
        from django_tracekit.testing import capture_spans
        stream = io.StringIO()
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": True,
            "formatters": {"ids": {"format": "%(otelTraceID)s %(message)s"}},
            "handlers": {"mem": {"class": "logging.StreamHandler", "stream": stream,
                                 "formatter": "ids"}},
            "loggers": {"shop": {"handlers": ["mem"], "level": "INFO", "propagate": False}}})
        with capture_spans() as spans, tracekit.span("work") as span:
            logging.getLogger("shop.orders").info("placed %d", 3)
        events = [dict(e.attributes) for e in spans.named("work").events]
        print(json.dumps({"events": events, "out": stream.getvalue(),
                          "trace": format(span.get_span_context().trace_id, "032x")}))
    """, {"LOGGING_CONFIG": "logging.config.dictConfig",
          "LOGGING": {"version": 1, "loggers": {"django": {"level": "INFO"}}}}))
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert [e["log.message"] for e in data["events"]] == ["placed 3"]
    assert data["out"] == f"{data['trace']} placed 3\n"


def test_records_of_threads_without_a_span_get_zero_ids_and_no_event(
        spans: Spans, logged: Logged) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            logged.logger.warning("from a thread")
        except BaseException as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)

    with tracekit.span("outer"):
        thread = threading.Thread(target=work, name="worker-1")
        thread.start()
        thread.join()
    assert errors == []
    assert log_events(spans.named("outer")) == []
    (line,) = logged.lines()
    assert line.startswith("WARNING 0 0 False [") and line.endswith("] from a thread")


def test_tracekits_the_sdks_and_djangos_query_loggers_are_not_events(spans: Spans) -> None:
    names = ["django_tracekit", "django_tracekit.destinations.stats", "opentelemetry.sdk.trace",
             "django.db.backends", "django.db.backends.schema"]
    handler = Keep()
    for name in names:
        logging.getLogger(name).addHandler(handler)
    try:
        with tracekit.span("outer") as span:
            for name in names:
                logging.getLogger(name).warning("internal %s", name)
            logging.getLogger("django_tracekit_extras").warning("a different package")
    finally:
        for name in names:
            logging.getLogger(name).removeHandler(handler)
    assert [e["log.logger"] for e in log_events(spans.named("outer"))] == [
        "django_tracekit_extras"]
    # Their records still carry the ids.
    assert {r.otelSpanID for r in handler.records} == {ids_of(span)[1]}  # type: ignore[attr-defined]


def test_level_none_is_off(spans: Spans, logged: Logged) -> None:
    off = {"EXPORTER": "tests.support.memory.processor", "STATS": {"ENABLED": False},
           "LOGS": {"LEVEL": None}}
    with override_settings(TRACEKIT=off), tracekit.span("off"):
        logged.logger.error("not an event")
    with tracekit.span("on"):
        logged.logger.error("an event")
    assert log_events(spans.named("off")) == []
    assert not hasattr(logged.kept.records[0], "otelTraceID")
    assert [e["log.message"] for e in log_events(spans.named("on"))] == ["an event"]


def test_level_filters_records_and_the_loggers_own_level_still_applies(
        spans: Spans, logged: Logged) -> None:
    warning = {"EXPORTER": "tests.support.memory.processor", "STATS": {"ENABLED": False},
               "LOGS": {"LEVEL": "WARNING"}}
    with override_settings(TRACEKIT=warning), tracekit.span("warning-level"):
        logged.logger.info("info")
        logged.logger.warning("warning")
        logged.logger.log(35, "custom level")
        logged.logger.setLevel(logging.ERROR)
        logged.logger.warning("not emitted at all")
    assert [e["log.message"] for e in log_events(spans.named("warning-level"))] == [
        "warning", "custom level"]


# -- auto-traced functions --------------------------------------------------------------------

SOURCE = """
import logging
log = logging.getLogger("shop.quick")

def quick_info():
    log.info("quick")

def quick_debug():
    log.debug("too low")

def caller():
    quick_debug()
"""


@pytest.fixture
def shop() -> Iterator[types.ModuleType]:
    logging.getLogger("shop.quick").setLevel(logging.DEBUG)
    threshold = runtime.threshold()
    runtime.set_threshold(10.0)  # nothing is kept for its duration: only what needs a span
    hooked = isinstance(getattr(otel_context, "_RUNTIME_CONTEXT", None), HookedRuntimeContext)
    runtime.hook_context()  # as the first rewritten module of a project does
    name = "shop.logs_quick"
    module = types.ModuleType(name)
    code, result = rewrite.compile_module(textwrap.dedent(SOURCE), name, f"/srv/{name}.py")
    module.__dict__.update(rewrite.module_globals(result))
    exec(code, module.__dict__)
    try:
        yield module
    finally:
        runtime.set_threshold(threshold)
        if not hooked:
            runtime.unhook_context()
        counters.drain()


def test_a_short_auto_traced_call_with_a_log_event_is_kept(spans: Spans,
                                                           shop: types.ModuleType) -> None:
    with tracer_module.get_tracer().start_as_current_span("request"):
        shop.quick_info()
    kept = spans.named("tests/shop/logs_quick/quick_info")
    assert [e["log.message"] for e in log_events(kept)] == ["quick"]
    assert log_events(spans.named("request")) == []


def test_a_record_below_the_level_makes_no_span(spans: Spans, shop: types.ModuleType) -> None:
    handler = Keep()
    logging.getLogger("shop.quick").addHandler(handler)
    try:
        with tracer_module.get_tracer().start_as_current_span("request") as request:
            shop.caller()
    finally:
        logging.getLogger("shop.quick").removeHandler(handler)
    assert spans.names() == ["request"]  # neither quick_debug nor caller became a span
    # Its ids are those of the innermost span that exists.
    assert handler.records[0].otelSpanID == ids_of(request)[1]  # type: ignore[attr-defined]


SOURCE_MATERIALIZED = """
import logging
from opentelemetry import trace
log = logging.getLogger("shop.quick")

def materialized():
    trace.get_current_span()  # as another instrumentation inside the call would
    log.debug("below the level, inside a span that exists")
"""


def test_a_record_below_the_level_names_the_innermost_existing_span(
        spans: Spans, shop: types.ModuleType) -> None:
    code, result = rewrite.compile_module(textwrap.dedent(SOURCE_MATERIALIZED), shop.__name__,
                                          f"/srv/{shop.__name__}.py")
    shop.__dict__.update(rewrite.module_globals(result))
    exec(code, shop.__dict__)
    handler = Keep()
    logging.getLogger("shop.quick").addHandler(handler)
    try:
        with tracer_module.get_tracer().start_as_current_span("request"):
            shop.materialized()
    finally:
        logging.getLogger("shop.quick").removeHandler(handler)
    span = spans.named("tests/shop/logs_quick/materialized")
    assert handler.records[0].otelSpanID == format(  # type: ignore[attr-defined]
        span.get_span_context().span_id, "016x")  # type: ignore[union-attr]
    assert log_events(span) == []


def test_a_record_rebuilt_from_a_dict_keeps_its_ids_and_is_no_event(spans: Spans) -> None:
    with tracekit.span("outer"):
        record = logging.makeLogRecord({"name": "remote.worker", "msg": "sent elsewhere",
                                        "levelno": logging.ERROR, "levelname": "ERROR",
                                        "otelTraceID": "ab" * 16, "otelSpanID": "cd" * 8})
        logging.getLogger("remote.worker").handle(record)
    assert (record.otelTraceID, record.otelSpanID) == ("ab" * 16, "cd" * 8)  # type: ignore[attr-defined]
    assert log_events(spans.named("outer")) == []


def test_a_failure_inside_the_hook_never_reaches_the_log_call(
        spans: Spans, logged: Logged, monkeypatch: pytest.MonkeyPatch) -> None:
    from django_tracekit.sources.logs import events

    def broken(*args: object) -> None:
        raise RuntimeError("tracekit bug")

    monkeypatch.setattr(events, "add", broken)
    monkeypatch.setattr(factory._log_failure.__self__, "count", 0)  # type: ignore[attr-defined]
    tracekit_log = Keep()
    logging.getLogger("django_tracekit").addHandler(tracekit_log)
    try:
        with tracekit.span("outer"):
            logged.logger.warning("first")
            logged.logger.warning("second")
    finally:
        logging.getLogger("django_tracekit").removeHandler(tracekit_log)
    assert [r.getMessage() for r in logged.kept.records] == ["first", "second"]
    # Logged once per process, with the traceback; then only counted.
    assert [r.getMessage() for r in tracekit_log.records] == [
        "tracekit: turning a log record into a span event failed (logged once per process)"]
    assert tracekit_log.records[0].exc_info is not None
    assert factory._log_failure.__self__.count == 2  # type: ignore[attr-defined]


def test_ids_without_the_private_runtime_context_seam(spans: Spans, logged: Logged,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # existing_span reads opentelemetry.context._RUNTIME_CONTEXT (docs/PRIVATE_SEAMS.md);
    # an OpenTelemetry without it: the current span, as OpenTelemetry itself gives it.
    from django_tracekit.core import context

    monkeypatch.setattr(context, "RUNTIME_ATTRIBUTE", "_NO_SUCH_RUNTIME_CONTEXT")
    with tracekit.span("outer") as span:
        logged.logger.debug("below the level")
    assert logged.kept.records[0].otelSpanID == ids_of(span)[1]  # type: ignore[attr-defined]


def test_the_current_span_without_the_private_span_key(spans: Spans, logged: Logged,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The factory reads an eventful record's span under the API's private ``_SPAN_KEY``
    (docs/PRIVATE_SEAMS.md), for span classes ``trace.get_current_span()`` has accepted;
    without the key: ``trace.get_current_span()`` each time, the same ids and event."""
    assert isinstance(factory._span_key(), str)
    for key in (factory._SPAN_KEY, None):
        monkeypatch.setattr(factory, "_SPAN_KEY", key)
        with tracekit.span("outer") as span:
            logged.logger.warning("inside")
        assert logged.kept.records[-1].otelSpanID == ids_of(span)[1]  # type: ignore[attr-defined]
        assert [e["log.message"] for e in log_events(spans.named("outer"))] == ["inside"]
        spans.clear()


def test_a_value_under_the_span_key_that_is_no_span_is_not_taken(logged: Logged) -> None:
    """What the API would refuse (not a ``Span``) is refused: ids "0", and never remembered."""
    token = otel_context.attach(otel_context.set_value(factory._SPAN_KEY or "k", "no span"))
    try:
        logged.logger.warning("inside")
    finally:
        otel_context.detach(token)
    assert logged.kept.records[-1].otelSpanID == "0"  # type: ignore[attr-defined]
    assert str not in factory._span_classes
