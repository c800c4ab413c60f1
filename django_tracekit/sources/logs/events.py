"""One log record -> one ``log`` event on a recording span, capped per span; a record that
carries an exception is recorded by the error convention (``errors.record_error``: once,
full stack), after its event.

Caps (docs/logs.md): :data:`MAX_EVENTS_PER_SPAN` log events per span (the SDK's default
limit is 128 events of any kind: the rest stays free for ``exception`` and N+1 events);
records beyond it are counted in the span attribute :data:`DROPPED`. Messages are cut at
:data:`MAX_MESSAGE_CHARS`.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import Event
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import Span

from django_tracekit.core import guard, lifecycle
from django_tracekit.core.errors import is_error, qualified_type_name, record_error
from django_tracekit.core.redaction import redact_text, safe_repr
from django_tracekit.core.vocabulary import LOG_EVENT, LOGS_DROPPED
from django_tracekit.sources.logs import structured

EVENT_NAME = LOG_EVENT
MAX_EVENTS_PER_SPAN = 100
MAX_MESSAGE_CHARS = 8192
DROPPED = LOGS_DROPPED

# Per span: how many log events it was offered. Weak keys: the entry goes with the span
# (SDK spans and auto-trace spans are weak-referenceable).
_counts: weakref.WeakKeyDictionary[Span, Iterator[int]] = weakref.WeakKeyDictionary()
_counts_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _counts_lock
    _counts_lock = threading.Lock()  # a fork while another thread held it must not deadlock


lifecycle.after_fork_in_child(_after_fork_in_child)


def severity_number(levelno: int) -> int:
    """The OpenTelemetry SeverityNumber of a ``logging`` level (as the SDK maps it):
    DEBUG 5, INFO 9, WARNING 13, ERROR 17, CRITICAL 21; 0 (unspecified) below DEBUG."""
    if levelno < logging.DEBUG:
        return 0
    if levelno > 53:
        return 24
    return 5 + 4 * (levelno // 10 - 1) + min(levelno % 10, 3)


# Values whose str()/repr() runs no application code: formatting them needs no guard.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(args: Any) -> bool:
    if type(args) is tuple:
        values: Any = args
    elif type(args) is dict:  # logger.info("%(n)s", {"n": 1})
        values = args.values()
    else:
        return args is None
    return all(type(v) in _PLAIN for v in values)


def message(record: logging.LogRecord) -> str:
    """The formatted message, capped and redacted; never raises. A ``msg % args`` that fails
    (logging itself only prints an error when a handler formats it) gives a safe text."""
    try:
        if type(record.msg) is str and _plain(record.args):
            text = record.getMessage()
        else:
            with guard.formatting():  # the arguments' __str__/__repr__ run untraced
                text = record.getMessage()
    except Exception as exc:
        text = (f"<log message could not be formatted: {type(exc).__name__}> "
                f"msg={safe_repr(record.msg)} args={safe_repr(record.args)}")
    if len(text) > MAX_MESSAGE_CHARS:
        text = (f"{text[:MAX_MESSAGE_CHARS]}... [tracekit: {len(text) - MAX_MESSAGE_CHARS} "
                "more characters]")
    return redact_text(text)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# The attributes a call site always gives (logger, level, location), built once per site.
_sites: dict[tuple[Any, ...], dict[str, Any]] = {}


def _site(record: logging.LogRecord) -> dict[str, Any]:
    key = (record.name, record.levelno, record.levelname, record.pathname, record.lineno,
           record.funcName)
    site = _sites.get(key)
    if site is None:
        candidates = {
            "log.severity": _str(record.levelname),
            "log.severity_number": severity_number(record.levelno),
            "log.logger": _str(record.name),
            "code.file.path": _str(record.pathname),
            "code.line.number": _int(record.lineno),
            "code.function.name": _str(record.funcName),
        }
        site = {key: value for key, value in candidates.items() if value is not None}
        if len(_sites) >= 4096:  # call sites are bounded in code, not in data: stay so
            _sites.clear()
        _sites[key] = site
    return site


def attributes(record: logging.LogRecord, exc: BaseException | None) -> dict[str, Any]:
    """The event's attributes; only valid attribute values (auto-trace spans do not
    validate, and a custom factory may have put anything on a record)."""
    event = structured.event_dict(record)
    if event is None:
        values = {"log.message": message(record), **_site(record)}
    else:  # structlog's event dict: its text, its keys as attributes
        values = {"log.message": structured.message(event, MAX_MESSAGE_CHARS), **_site(record),
                  **structured.attributes(event, exc is not None)}
    thread = record.threadName
    if isinstance(thread, str):
        values["thread.name"] = thread
    if exc is not None:
        values["exception.type"] = qualified_type_name(type(exc))
    return values


def error_of(record: logging.LogRecord) -> BaseException | None:
    """The exception a record carries (``logger.exception``, ``exc_info=``), if it is an
    error: expected outcomes (Http404 in ``django.request``'s 404 warning, Celery's Retry)
    are not."""
    exc_info = record.exc_info
    if not exc_info or not isinstance(exc_info, tuple) or len(exc_info) != 3:
        event = structured.event_dict(record)
        exc = structured.carried_exception(event) if event is not None else None
    else:
        exc = exc_info[1]
    return exc if isinstance(exc, BaseException) and is_error(exc) else None


def _next_index(span: Span) -> int:
    """How many log events ``span`` was offered before this one (thread-safe)."""
    try:
        counter = _counts.get(span)
        if counter is None:
            with _counts_lock:
                counter = _counts.get(span)
                if counter is None:
                    counter = _counts[span] = itertools.count()
        return next(counter)
    except TypeError:  # a span type that refuses weak references: not capped
        return 0


def add(span: Span, record: logging.LogRecord) -> None:
    """``record`` on ``span`` (the current span, whose context is valid)."""
    exc = error_of(record)
    if span.is_recording():
        index = _next_index(span)
        if index < MAX_EVENTS_PER_SPAN:
            created = record.created
            timestamp = int(created * 1e9) if isinstance(created, (int, float)) else None
            _add_event(span, attributes(record, exc), timestamp)
        else:
            span.set_attribute(DROPPED, index - MAX_EVENTS_PER_SPAN + 1)
    if exc is not None:
        # Recorded whether sampled or not (stats, Sentry), once (errors' marker on the
        # exception): the middleware or Celery seeing it later adds only a reference.
        record_error(exc, span, _depth=_call_site_depth())


def _add_event(span: Span, values: dict[str, Any], timestamp: int | None) -> None:
    """``span.add_event`` without the SDK's per-attribute validation, which the values built
    here (str, int, bool, tuples of str) do not need. SDK spans only, and only within their
    limits (a value length limit set: the SDK path, which truncates)."""
    limits = getattr(span, "_limits", None)
    if (type(span) in _PLAIN_SDK_SPANS and limits is not None
            and limits.max_attribute_length is None
            and len(values) <= (limits.max_event_attributes or 0)):
        span._add_event(Event(EVENT_NAME, values, timestamp))  # type: ignore[attr-defined]
    else:
        span.add_event(EVENT_NAME, values, timestamp)


def _plain_sdk_span_types() -> frozenset[type]:
    """The SDK's span classes (``Span`` and the ``_Span`` its tracer makes) that keep the
    SDK's ``add_event`` and ``_add_event``; a subclass changing either takes the public path."""
    found: set[type] = set()
    candidates: list[type] = [SdkSpan, *SdkSpan.__subclasses__()]
    for cls in candidates:
        if (getattr(cls, "add_event", None) is SdkSpan.add_event
                and callable(getattr(cls, "_add_event", None))):
            found.add(cls)
    return frozenset(found)


_PLAIN_SDK_SPANS = _plain_sdk_span_types()
_LOGGING_FILE = logging.__file__


def _call_site_depth() -> int:
    """``record_error``'s ``_depth`` that names the frame calling the logger (the callers of
    an exception that was never raised start there): above logging's own frames."""
    frame = sys._getframe(1)  # our caller: the depth-1 frame of record_error
    depth = 1
    in_logging = False
    while frame is not None:
        if frame.f_code.co_filename == _LOGGING_FILE:
            in_logging = True
        elif in_logging:
            return depth
        frame = frame.f_back  # type: ignore[assignment]
        depth += 1
    return 1


__all__ = ["DROPPED", "EVENT_NAME", "MAX_EVENTS_PER_SPAN", "MAX_MESSAGE_CHARS", "add",
           "attributes", "error_of", "message", "severity_number"]
