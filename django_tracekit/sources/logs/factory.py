"""The hook: ``logging``'s LogRecord factory, chained in front of the one already set.

Every record a logger creates passes through the factory exactly once, after the logger's
level check (a record that is created is one that is emitted), whatever the handlers,
``propagate=False`` or a later ``logging.config.dictConfig`` (which never touches the
factory) do. A handler on the root logger would miss non-propagating loggers and be removed
by the next ``dictConfig``. Why, in full: docs/logs.md.

For every record: the ids of the current span as ``otelTraceID``/``otelSpanID``/
``otelTraceSampled``/``otelServiceName`` (as contrib's LoggingInstrumentor sets them; "0"
without a span). For records at or above the level, outside tracekit's and the SDK's own
loggers: an event on the current span (``events.add``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext
from opentelemetry.trace import propagation as trace_propagation

from django_tracekit.core import guard
from django_tracekit.core.context import existing_span
from django_tracekit.core.logonce import LogOnce
from django_tracekit.sources.logs import events

TRACE_ID, SPAN_ID, SAMPLED, SERVICE_NAME = (
    "otelTraceID", "otelSpanID", "otelTraceSampled", "otelServiceName")
# Loggers whose records never become events: tracekit's own (a failure logged while
# recording must not be recorded), the OpenTelemetry SDK's (export errors, limits), and
# Django's query log (DEBUG=True: every statement with its parameter values interpolated;
# the statements are SQL spans already, without the values), and the Sentry SDK's report of
# its own internal failures (an application object whose __str__ raised while the SDK's
# breadcrumb handler formatted a record: the SDK's failure, already handled by it).
EXCLUDED = ("django_tracekit", "opentelemetry", "django.db.backends", "sentry_sdk.errors")

Factory = Callable[..., logging.LogRecord]


@dataclass
class Hook:
    """The installed factory's state; ``generation`` tells a stale copy of the factory
    (still wrapped by another library's factory after :func:`uninstall`) to pass through."""

    level: int | None
    service_name: str
    generation: int


_hook: Hook | None = None
_generation = 0
_lock = threading.Lock()
_log_failure = LogOnce("turning a log record into a span event failed").failed


def install(level: int | None) -> None:
    """Chain the factory in front of the current one (once per process; again only after
    :func:`uninstall`). ``level``: records at/above it become events; None: do nothing."""
    global _hook, _generation
    with _lock:
        if _hook is not None:
            _hook.level = level
            return
        _generation += 1
        _hook = Hook(level, _service_name(), _generation)
        logging.setLogRecordFactory(_make_factory(logging.getLogRecordFactory(), _generation))


def uninstall() -> None:
    """Take the factory out: restore the previous one if ours is still the current one;
    otherwise (another factory wraps ours) ours stays in the chain and passes through."""
    global _hook
    with _lock:
        current = logging.getLogRecordFactory()
        previous = getattr(current, "tracekit_previous", None)
        if previous is not None:
            logging.setLogRecordFactory(previous)
        _hook = None


def installed() -> Hook | None:
    return _hook


def _make_factory(previous: Factory, generation: int) -> Factory:
    def tracekit_log_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        hook = _hook
        if hook is not None and hook.generation == generation and hook.level is not None:
            try:
                _observe(record, hook.level, hook.service_name)
            except Exception:  # a log call must never fail because of tracing
                _log_failure()
        return record

    tracekit_log_record_factory.tracekit_previous = previous  # type: ignore[attr-defined]
    return tracekit_log_record_factory


def _observe(record: logging.LogRecord, level: int, service_name: str) -> None:
    name = record.name
    levelno = record.levelno
    # A record logged by application code tracekit's own formatting ran (a __repr__ that
    # logs) is not an event: nothing is traced while tracekit formats. A record without a
    # level (``logging.makeLogRecord``, which structlog's ProcessorFormatter calls to copy
    # every record it formats) is no logger call: not an event.
    eventful = (isinstance(levelno, int) and levelno >= level and isinstance(name, str)
                and not (_excluded_names.get(name) or _excluded(name)) and not guard.active())
    # A record that becomes an event goes to the current span (a pending auto-traced call
    # becomes a kept span); one that does not must not create spans: its ids are those of
    # the innermost span that exists.
    span: Span
    if eventful:
        # trace.get_current_span() without its three calls and ABC check, for span classes
        # it has already accepted: read from the runtime context (hooked by auto-tracing or
        # not) as the API reads it.
        found = otel_context._RUNTIME_CONTEXT.get_current().get(_SPAN_KEY) if _SPAN_KEY \
            else None
        span = found if found.__class__ in _span_classes else _current_span(found)  # type: ignore[assignment]
    else:
        span = existing_span()
    context = span.get_span_context()
    values = record.__dict__
    # Records come in runs: the last span's ids, read without a call (only a valid context
    # is kept there, so its validity is not read again either).
    last = _last_ids
    if (last is not None and last[0] is context) or context.is_valid:
        if last is None or last[0] is not context:
            last = _ids(context)
        values[TRACE_ID], values[SPAN_ID], values[SAMPLED] = last[1], last[2], last[3]
        values[SERVICE_NAME] = service_name
        if eventful:
            events.add(span, record)
    else:
        values[TRACE_ID] = values[SPAN_ID] = "0"
        values[SAMPLED] = False
        values[SERVICE_NAME] = service_name


def _current_span(found: object) -> Span:
    """``trace.get_current_span()``; ``found``'s class is remembered if that is what it gave
    (the API's own validation, once per span class)."""
    span = trace.get_current_span()
    if span is found and len(_span_classes) < 64:  # span classes are few; stay bounded
        _span_classes.add(span.__class__)
    return span


def _span_key() -> str | None:
    """The API's private key of the current span in a context, if the API reads the span
    under it (docs/PRIVATE_SEAMS.md); else None: ``trace.get_current_span()`` each time."""
    key = getattr(trace_propagation, "_SPAN_KEY", None)
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    try:
        probe = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
        ok = (isinstance(key, str) and callable(getattr(runtime, "get_current", None))
              and trace.get_current_span(trace.set_span_in_context(probe)) is probe
              and trace.set_span_in_context(probe).get(key) is probe)
    except Exception:
        ok = False
    return key if ok else None


_SPAN_KEY = _span_key()
_span_classes: set[type] = set()  # span classes trace.get_current_span() returned as found


_last_ids: tuple[SpanContext, str, str, bool] | None = None


def _ids(context: SpanContext) -> tuple[SpanContext, str, str, bool]:
    """(context, trace id and span id as hex, sampled), kept as the last span's."""
    global _last_ids
    last = _last_ids = (context, format(context.trace_id, "032x"),
                        format(context.span_id, "016x"), context.trace_flags.sampled)
    return last


_excluded_names: dict[str, bool] = {}


def _excluded(name: str) -> bool:
    excluded = _excluded_names.get(name)
    if excluded is None:
        excluded = any(name == p or name.startswith(p + ".") for p in EXCLUDED)
        if len(_excluded_names) < 10_000:  # logger names are few; stay bounded anyway
            _excluded_names[name] = excluded
    return excluded


def _service_name() -> str:
    """``service.name`` of the provider's resource, as contrib reads it ("" if none)."""
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    name = resource.attributes.get("service.name") if resource is not None else None
    return str(name) if name else ""


def set_level(level: int | None) -> None:
    """Records at/above ``level`` become events from now on (None: none); the integration
    hands LOGS['LEVEL'] over here when the settings change."""
    hook = _hook
    if hook is not None:
        hook.level = level


__all__ = ["EXCLUDED", "SAMPLED", "SERVICE_NAME", "SPAN_ID", "TRACE_ID", "Hook", "install",
           "installed", "set_level", "uninstall"]
