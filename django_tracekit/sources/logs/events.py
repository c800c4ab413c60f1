"""One log record -> one ``log`` event on a recording span, capped per span; a record that
carries an exception is recorded by the error convention (``errors.record_error``: once,
full stack), after its event.

Caps (docs/logs.md): :data:`MAX_EVENTS_PER_SPAN` log events per span (the SDK's default
limit is 128 events of any kind: the rest stays free for ``exception`` and N+1 events);
records beyond it are counted in the span attribute :data:`DROPPED`. Messages are cut at
:data:`MAX_MESSAGE_CHARS` (``render``: what a record's event says).
"""

from __future__ import annotations

import itertools
import logging
import operator
import sys
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import Event, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Span

from django_tracekit.core import lifecycle
from django_tracekit.core.errors import is_error, record_error
from django_tracekit.core.sdk_attributes import set_known
from django_tracekit.core.vocabulary import LOG_EVENT, LOGS_DROPPED
from django_tracekit.sources.logs import render, structured
from django_tracekit.sources.logs.render import (
    MAX_MESSAGE_CHARS,
    attributes,
    message,
    severity_number,
)

EVENT_NAME = LOG_EVENT
MAX_EVENTS_PER_SPAN = 100
DROPPED = LOGS_DROPPED

# Per span: how many log events it was offered. Weak keys: the entry goes with the span
# (SDK spans and auto-trace spans are weak-referenceable).
_counts: weakref.WeakKeyDictionary[Span, Iterator[int]] = weakref.WeakKeyDictionary()
_counts_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _counts_lock
    _counts_lock = threading.Lock()  # a fork while another thread held it must not deadlock


lifecycle.after_fork_in_child(_after_fork_in_child)


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


_COUNT = "_tracekit_log_events"  # the counter's name in an SDK span's own __dict__


def _next_index(span: Span) -> int:
    """How many log events ``span`` was offered before this one (thread-safe)."""
    # On the span itself where it has a __dict__ (SDK and tracekit spans: a dict lookup;
    # setdefault is atomic), else in the weak dictionary (a weakref per read).
    own = getattr(span, "__dict__", None)
    if own is not None:
        mine: Iterator[int] | None = own.get(_COUNT)
        if mine is None:
            mine = own.setdefault(_COUNT, itertools.count())
        return next(mine)
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


# What a deferred event keeps of its record, read in one C call: the record's values at log
# time, whatever a handler or filter later does to the record (formatters that colour
# ``levelname``, a QueueHandler that replaces ``msg``). Indexes 2-7 are the site's key.
_FIELDS = operator.itemgetter("msg", "args", "name", "levelno", "levelname", "pathname",
                              "lineno", "funcName", "threadName", "created")
_DEFERRED_MAX_ATTRIBUTES = 8  # log.message, the six of the site, thread.name


def add(span: Span, record: logging.LogRecord) -> None:
    """``record`` on ``span`` (the current span, whose context is valid)."""
    if record.exc_info is None and record.msg.__class__ is str:
        # The common record (a str message, no exc_info) carries no exception. On an SDK
        # span it becomes a deferred event: the record's values are kept, the attributes
        # are built when something first reads them (docs/logs.md, "Cost").
        if span.__class__ in _deferring_spans and (
                span._limits is _fitting_limits  # type: ignore[attr-defined]
                or _limits_fit(span._limits)):  # type: ignore[attr-defined]
            try:
                fields = _FIELDS(record.__dict__)
            except KeyError:  # a record class keeping one of them elsewhere: built now
                fields = None
            if fields is not None and fields[9].__class__ is float:
                args = fields[1]
                eager = False
                if args:  # (a loop here costs less than render.plain(), a call)
                    if args.__class__ is tuple:
                        plain = render.PLAIN
                        for value in args:
                            if value.__class__ not in plain:
                                eager = True
                                break
                    else:
                        eager = True
                if eager:
                    # Values that may change later or run application code when formatted
                    # (a list, a model instance, a dict of arguments): formatted now.
                    text = render.capped(render.formatted(record))
                    fields = (text, render.FORMATTED, *fields[2:])
                _defer(span, fields)
                return
        exc = None
    else:
        exc = error_of(record)
    if span.is_recording():
        index = _next_index(span)
        if index < MAX_EVENTS_PER_SPAN:
            created = record.created
            timestamp = int(created * 1e9) if isinstance(created, (int, float)) else None
            _add_event(span, attributes(record, exc), timestamp)
        else:
            set_known(span, {DROPPED: index - MAX_EVENTS_PER_SPAN + 1}, scalars=True)
    if exc is not None:
        # Recorded whether sampled or not (stats, Sentry), once (errors' marker on the
        # exception): the middleware or Celery seeing it later adds only a reference.
        record_error(exc, span, _depth=_call_site_depth())


def _defer(span: Any, fields: tuple[Any, ...]) -> None:
    """A deferred event of ``fields`` on ``span`` (a plain SDK span), within the cap."""
    if span._end_time is None:
        own = span.__dict__
        index = next(own.get(_COUNT) or own.setdefault(_COUNT, itertools.count()))
        if index < MAX_EVENTS_PER_SPAN:
            event = _new_event(_DeferredLogEvent)  # no __init__ frame: one slot to set
            event._fields = fields
            with span._lock:  # what the SDK's _add_event does, minus its wrapper's calls
                if span._end_time is None:
                    found = span._events
                    queue = found._dq if _BOUNDED_DEQUE else None
                    if queue is not None:
                        # BoundedList.append without its own lock: every writer of a live
                        # span's events holds the span's lock (the SDK's _add_event too).
                        if len(queue) == queue.maxlen:
                            found.dropped += 1
                        queue.append(event)
                    else:
                        found.append(event)
        else:
            set_known(span, {DROPPED: index - MAX_EVENTS_PER_SPAN + 1}, scalars=True)


_new_event = object.__new__


class _DeferredLogEvent(Event):
    """A ``log`` event whose attributes are built from its record's values when first read
    (``attributes``, or ``_attributes`` by a reader of the SDK's field), then kept: by the
    stats, the trace store or an exporter, when the span has ended."""

    # Made with object.__new__ and ``_fields`` set (no __init__ frame on the logging thread);
    # ``_made`` goes to the instance's dict on the first read (the class's None until then).
    __slots__ = ("_fields",)
    _fields: tuple[Any, ...]
    _made: dict[str, Any] | None = None
    _name = EVENT_NAME

    @property
    def _timestamp(self) -> int:  # type: ignore[override]
        return int(self._fields[9] * 1e9)

    @property
    def _attributes(self) -> dict[str, Any]:  # type: ignore[override]
        made = self._made
        if made is None:  # two threads reading at once build equal dicts: either is kept
            made = self._made = render.built(self._fields)
        return made

    @property
    def dropped_attributes(self) -> int:
        return 0  # built within the span's event attribute limit (_limits_fit)


def _deferred_reads_back() -> bool:
    """Whether the SDK's ``Event`` properties read the fields a deferred event provides."""
    probe = _new_event(_DeferredLogEvent)
    probe._fields = ("order %s", ("A-1",), "shop", logging.INFO, "INFO", "/shop.py", 3,
                     "view", "main", 1.5)
    try:
        attributes = probe.attributes
        return (probe.name == EVENT_NAME and probe.timestamp == 1_500_000_000
                and isinstance(attributes, dict)
                and attributes.get("log.message") == "order A-1"
                and attributes.get("code.line.number") == 3
                and probe.attributes is attributes and probe.dropped_attributes == 0)
    except Exception:
        return False


_fitting_limits: object = None  # the last span limits a deferred event was found to fit


def _limits_fit(limits: Any) -> bool:
    """Whether a deferred event may skip the SDK's validation on spans with ``limits`` (no
    value length limit, room for its attributes) and the span's fields it uses are there."""
    global _fitting_limits
    direct = _DIRECT_APPEND
    if direct is None:
        direct = _check_direct_append()
    if direct and (getattr(limits, "max_attribute_length", 0) is None
            and (getattr(limits, "max_event_attributes", 0) or 0) >= _DEFERRED_MAX_ATTRIBUTES):
        _fitting_limits = limits
        return True
    return False


def _add_event(span: Span, values: dict[str, Any], timestamp: int | None) -> None:
    """``span.add_event`` without the SDK's per-attribute validation, which the values built
    here (str, int, bool, tuples of str) do not need. SDK spans only, and only within their
    limits (a value length limit set: the SDK path, which truncates)."""
    if span.__class__ in _PLAIN_SDK_SPANS:
        limits = getattr(span, "_limits", None)
        if (limits is not None and limits.max_attribute_length is None
                and len(values) <= (limits.max_event_attributes or 0)):
            event = _event(values, timestamp)
            direct = _DIRECT_APPEND
            if direct is None:
                direct = _check_direct_append()
            if direct:  # what the SDK's _add_event does, minus its wrapper's calls
                with span._lock:  # type: ignore[attr-defined]
                    if span._end_time is None:  # type: ignore[attr-defined]
                        span._events.append(event)  # type: ignore[attr-defined]
            else:
                span._add_event(event)  # type: ignore[attr-defined]
            return
    span.add_event(EVENT_NAME, values, timestamp)


def _direct_append_ok() -> bool:
    """Whether an SDK span keeps what the direct append uses: ``_lock`` (its
    ``_check_span_ended`` lock), ``_end_time`` and the ``_events`` list."""
    return _probe_span_events() is not None


def _probe_span_events() -> Any:
    """The ``_events`` of a span of a provider of its own (no processor, no exit hook), never
    ended, if the SDK's span keeps what the direct append uses; else None."""
    try:
        probe: Any = TracerProvider(shutdown_on_exit=False).get_tracer("probe") \
            .start_span("probe")
        found = probe._events
        if (type(probe) in _PLAIN_SDK_SPANS and probe._end_time is None
                and callable(getattr(probe._lock, "__enter__", None))
                and callable(getattr(found, "append", None))):
            return found
    except Exception:
        pass
    return None


def _bounded_deque(found: Any) -> bool:
    """Whether a span's ``_events`` is the SDK's ``BoundedList`` whose ``append`` is
    ``_dq.append`` plus ``dropped`` counting (appended to directly, under the span's lock)."""
    queue = getattr(found, "_dq", None)
    return (type(found) is BoundedList and isinstance(queue, deque)
            and isinstance(getattr(found, "dropped", None), int) and len(queue) == 0
            and queue.maxlen is not None)


_DIRECT_APPEND: bool | None = None  # found on the first event (not at import: start-up)
_BOUNDED_DEQUE = False  # found with it


def _check_direct_append() -> bool:
    global _DIRECT_APPEND, _BOUNDED_DEQUE
    found = _probe_span_events()
    _BOUNDED_DEQUE = found is not None and _bounded_deque(found)
    _DIRECT_APPEND = found is not None
    return _DIRECT_APPEND


class _LogEvent(Event):
    """An SDK ``Event`` made in one call (``Event.__init__`` calls ``EventBase.__init__``):
    the fields its public properties read, set directly. Used only if they read back."""

    def __init__(self, attributes: dict[str, Any], timestamp: int) -> None:
        self._name = EVENT_NAME
        self._timestamp = timestamp
        self._attributes = attributes


def _fields_read_back() -> bool:
    probe = _LogEvent({"k": 1}, 5)
    try:
        return (probe.name == EVENT_NAME and probe.timestamp == 5
                and probe.attributes == {"k": 1}
                and getattr(probe, "dropped_attributes", 0) == 0)
    except Exception:
        return False


_FAST_EVENT = _fields_read_back()


def _event(values: dict[str, Any], timestamp: int | None) -> Event:
    if _FAST_EVENT and timestamp is not None:
        return _LogEvent(values, timestamp)
    return Event(EVENT_NAME, values, timestamp)


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
# Span classes whose common records become deferred events: the SDK's own, if a deferred
# event reads back as the SDK's properties expect (else every event is built at once).
_deferring_spans: frozenset[type] = _PLAIN_SDK_SPANS if _deferred_reads_back() else frozenset()
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
