"""The span engine: spans for kept calls, retroactive, parented on their nearest kept ancestor.

Auto-tracing keeps calls through it; the SQL, template and N+1 sources build their spans
with its :class:`AutoSpan` and :class:`Shortcut` (so it is in the core, not in a source).

A kept span is handed to the provider's span processors as a ``ReadableSpan`` on end:
``tracer.start_span()`` + ``end()`` costs ~0.75x ``start_as_current_span`` (sampler, locks,
attribute validation, ``_readable_span`` copy), which cannot meet the 0.25x goal. The
shortcut (:class:`Shortcut`) is taken only when the SDK would make the same decision;
otherwise the SDK path is used. Processors see these spans in ``on_end`` only (not
``on_start``): they are created when their call has already finished.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import (
    Link,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.util import types as otel_types

from django_tracekit.core import clock as real_clock
from django_tracekit.core import lifecycle
from django_tracekit.core import tracer as tracer_module
from django_tracekit.core.chain import (
    COUNTER,
    CTX,
    DONE,
    PREV,
    ROOT,
    SPAN,
    T0,
    T1,
    Frame,
    Node,
    Root,
)
from django_tracekit.core.errors import record_error
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.naming import CodeLocation
from django_tracekit.core.sampling import RecordSampledOut


class _Site(Protocol):
    @property
    def location(self) -> CodeLocation: ...


class Counter(Protocol):
    """What a kept call's counter gives the engine (auto-tracing's ``sites.Counter``)."""

    @property
    def site(self) -> _Site: ...


clock = real_clock.perf_counter  # not time.perf_counter: a freezer leaves it alone

lock = threading.RLock()


@lifecycle.after_fork_in_child
def _after_fork_in_child() -> None:
    global lock
    lock = threading.RLock()  # a fork while another thread held it must not deadlock


def keep(frame: Frame[Any]) -> None:
    """A call kept at exit (slow, failed, or materialized): end or emit its span."""
    span = frame[SPAN]
    if span is None:
        # Kept at exit and never needed as a parent: emitted directly, no span object.
        with lock:
            parent = frame[PREV]
            keep_call(frame[COUNTER], parent.listed() if parent.__class__ is Root else parent,
                      frame[T0], frame[T1], frame)
        return
    span.end(end_time=int(frame[T1] * 1e9) + _offset(frame[T1]))


def keep_call(counter: Counter, parent: Frame[Any], t0: float, t1: float,
              frame: Frame[Any] | None = None) -> None:
    """A call kept at its exit that nobody needed as a parent, under ``parent`` (a pending
    frame, or the attached context's own list, which has its span): handed to the
    processors as a :class:`FinishedSpan` where the shortcut applies, else made a span
    through the SDK (``frame``: the call's own frame, if it has one). Call with
    :data:`lock` held."""
    span = parent[SPAN]
    if span is None:
        materialize(parent)
        span = parent[SPAN]
    parent_sc = span.get_span_context()
    if shortcut.applies(parent_sc):
        if t1 - _offset_cache[0] > _OFFSET_TTL_S:  # as _offset(t1), without the call
            _offset(t1)
        offset = _offset_cache[1]
        location = counter.site.location
        shortcut.processor.on_end(FinishedSpan(
            location.name, child_context(parent_sc), parent_sc, location.attributes,
            int(t0 * 1e9) + offset, int(t1 * 1e9) + offset))
        return
    if frame is None:
        frame = [t0, counter, parent, parent[ROOT], None, None, None, True, False, t1]
    materialize(frame)
    frame[SPAN].end(end_time=int(t1 * 1e9) + _offset(t1))


def materialize(frame: Frame[Any]) -> None:
    """Give ``frame`` and its pending ancestors spans (with their real start times)."""
    missing: list[Frame[Any]] = []
    node: Node = frame
    while node.__class__ is list and node[SPAN] is None:
        missing.append(node)
        node = node[PREV]
    if not missing:
        return
    parent_sc = node.span_context() if node.__class__ is Root else node[SPAN].get_span_context()
    offset = _offset()
    for item in reversed(missing):
        span = _start_span(item[COUNTER], parent_sc, item[ROOT], item[T0], offset)
        item[SPAN] = span
        if item[DONE]:  # an ancestor that already returned (a task outliving its caller)
            span.end(end_time=int(item[T1] * 1e9) + offset)
        parent_sc = span.get_span_context()


def context_of(frame: Frame[Any]) -> Context:
    """The context with ``frame``'s span current (built once, on demand)."""
    ctx: Context | None = frame[CTX]
    if ctx is None:
        ctx = frame[CTX] = trace.set_span_in_context(frame[SPAN], frame[ROOT].ctx)
    return ctx


_offset_cache: list[Any] = [-10.0, 0]  # [perf_counter when measured (s), offset (int ns)]
_OFFSET_TTL_S = 0.2


def _offset(now: float | None = None) -> int:
    # perf_counter for durations (monotonic); the SDK stamps spans with time_ns(): convert
    # with an offset re-measured at most every 0.2 s (two clock reads per kept span
    # otherwise), so our spans line up with the SDK's spans around them even when the
    # wall clock is stepped. ``now``: a perf_counter reading just taken (a call's end).
    if now is None:
        now = clock()
    if now - _offset_cache[0] > _OFFSET_TTL_S:
        _offset_cache[1] = real_clock.time_ns() - int(clock() * 1e9)
        _offset_cache[0] = now
    return _offset_cache[1]  # type: ignore[no-any-return]


class Shortcut:
    """What the ReadableSpan shortcut needs from the SDK tracer (``ok`` False: SDK path).

    Taken only where the SDK would decide the same for a child of a local parent: an SDK
    tracer whose sampler is ``ParentBased`` with the default ``local_parent_sampled``
    (ALWAYS_ON: a sampled parent's children are sampled), optionally wrapped in the stats'
    :class:`RecordSampledOut` (the default configuration) over the default
    ``local_parent_not_sampled`` (ALWAYS_OFF, turned into record-only: an unsampled
    parent's children record, unsampled). ``ParentBased`` exposes its delegates only as
    private attributes: read with ``getattr`` (missing: SDK path), checked by the tests.
    """

    def __init__(self) -> None:
        self.key: Any = None
        self.ok = False
        self.unsampled = False  # also for unsampled (recorded, not exported) parents
        self.resource: Any = None
        self.scope: Any = None
        self.processor: Any = None
        self.span_id: Any = None
        self.any_span_id: Any = None
        # (parent, decision) of the last call: the kept children of one parent (a view's
        # slow calls) ask about the same SpanContext. One tuple, so threads read both.
        self.last: tuple[SpanContext | None, bool] = (None, False)

    def applies(self, parent: SpanContext) -> bool:
        """Whether a child of ``parent`` can skip the SDK (same decision, same span)."""
        tracer = tracer_module.get_tracer()
        if self.key is not tracer:
            self.refresh(tracer)
        last = self.last
        if last[0] is parent:
            return last[1]
        ok = self.ok and parent.is_valid and (parent.trace_flags.sampled or self.unsampled)
        self.last = (parent, ok)
        return ok

    def refresh(self, tracer: trace.Tracer) -> None:
        self.key = tracer
        self.ok = self.unsampled = False
        self.last = (None, False)
        if not isinstance(tracer, SdkTracer) or not _span_context_layout_ok():
            return
        # The stats and the trace store each wrap the sampler to record sampled-out spans
        # (RecordEverySampledOut subclasses RecordSampledOut): unwrap every layer.
        sampler = tracer.sampler
        wrapped = False
        while isinstance(sampler, RecordSampledOut):
            wrapped, sampler = True, sampler.sampler
        if (not isinstance(sampler, ParentBased)
                or getattr(sampler, "_local_parent_sampled", None) is not ALWAYS_ON):
            return
        scope = getattr(tracer, "_instrumentation_scope", None)
        if scope is None:
            return
        self.unsampled = wrapped and getattr(sampler, "_local_parent_not_sampled",
                                             None) is ALWAYS_OFF
        self.resource = tracer.resource
        self.scope = scope
        self.processor = tracer.span_processor
        generator = tracer.id_generator
        self.any_span_id = generator.generate_span_id
        # The SDK's default generator is ``random.getrandbits(64)`` until non-zero: that C
        # call directly (no Python call); 0 falls back to the generator (``child_context``).
        self.span_id = (functools.partial(random.getrandbits, 64)
                        if type(generator) is RandomIdGenerator else self.any_span_id)
        self.ok = True


def _span_context_layout_ok() -> bool:
    """:func:`child_context` builds the tuple behind ``SpanContext`` directly: check that
    its layout is the one this code knows."""
    flags, state = TraceFlags(TraceFlags.SAMPLED), TraceState()
    real = SpanContext(1, 2, False, flags, state)
    built = tuple.__new__(SpanContext, (1, 2, False, flags, state, True))
    # The sampled bit is read as ``context[3] & 1`` too (``client_spans.start``).
    unsampled = SpanContext(1, 2, False, TraceFlags(TraceFlags.DEFAULT), state)
    return bool(built == real and built.span_id == 2 and built.is_valid
                and real[3] & 1 and not unsampled[3] & 1)


shortcut = Shortcut()


def child_context(parent: SpanContext) -> SpanContext:
    # SpanContext.__new__ re-validates the ids (a tenth of a kept span): the parent's trace
    # id is valid and the SDK's span ids are non-zero 64-bit ints, so build the
    # (documented) tuple directly, with is_valid True; the parent's fields are read by
    # index (the same checked layout), not through its properties (Python calls).
    return tuple.__new__(SpanContext, (parent[0], shortcut.span_id() or shortcut.any_span_id(),
                                       False, parent[3], parent[4], True))


def _start_span(counter: Counter, parent_sc: SpanContext, root: Root, t0: float,
                offset: int) -> Span:
    location = counter.site.location
    start = int(t0 * 1e9) + offset
    if shortcut.applies(parent_sc):
        return AutoSpan(location.name, child_context(parent_sc), parent_sc,
                        location.attributes, start)
    parent_ctx = trace.set_span_in_context(trace.NonRecordingSpan(parent_sc), root.ctx)
    return tracer_module.get_tracer().start_span(
        location.name, context=parent_ctx, attributes=location.attributes, start_time=start)


def start_child(name: str, attributes: Mapping[str, Any], parent_ctx: Context) -> Span:
    """An INTERNAL span, child of the span current in ``parent_ctx`` (a view's span under
    its request's): an :class:`AutoSpan` where the SDK would decide the same (the shortcut),
    else the SDK's ``start_span``. Processors see it in ``on_end`` only, as every shortcut
    span: their ``on_start`` looks only at local roots (``producers.entered``)."""
    parent_sc = trace.get_current_span(parent_ctx).get_span_context()
    if shortcut.applies(parent_sc):
        return AutoSpan(name, child_context(parent_sc), parent_sc, attributes,
                        real_clock.time_ns())
    return tracer_module.get_tracer().start_span(name, context=parent_ctx,
                                                 attributes=attributes)


_UNSET = Status(StatusCode.UNSET)


class FinishedSpan(ReadableSpan):
    """The ``ReadableSpan`` the shortcut hands the processors. ``ReadableSpan.__init__``
    sets it up as usual; the fields the processors read from every span are also plain
    slots here, shadowing the base class's properties (a Python call per read: ~a tenth
    of a kept span's cost). The same values; read-only like any ReadableSpan."""

    __slots__ = ("context", "end_time", "instrumentation_scope", "kind", "name", "parent",
                 "resource", "start_time", "status")
    name: str
    context: SpanContext
    parent: SpanContext
    resource: Any
    kind: SpanKind
    status: Status
    start_time: int
    end_time: int
    instrumentation_scope: Any

    def __init__(self, name: str, context: SpanContext, parent: SpanContext,
                 attributes: Mapping[str, Any], start_time: int, end_time: int,
                 kind: SpanKind = SpanKind.INTERNAL, status: Status = _UNSET,
                 events: tuple[Event, ...] = (), links: tuple[Link, ...] = ()) -> None:
        resource, scope = shortcut.resource, shortcut.scope
        ReadableSpan.__init__(
            self, name=name, context=context, parent=parent, resource=resource,
            attributes=attributes, events=events, links=links, kind=kind, status=status,
            start_time=start_time, end_time=end_time, instrumentation_scope=scope)
        self.name = name
        self.context = context
        self.parent = parent
        self.resource = resource
        self.kind = kind
        self.status = status
        self.start_time = start_time
        self.end_time = end_time
        self.instrumentation_scope = scope


class AutoSpan(Span):
    """A recording span delivered straight to the processors as a ReadableSpan on end."""

    _KIND = SpanKind.INTERNAL  # a subclass of another kind changes only this
    __slots__ = ("_attributes", "_context", "_end", "_events", "_links", "_name", "_owned",
                 "_parent", "_start", "_status")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext,
                 attributes: Mapping[str, Any], start: int) -> None:
        self._name = name
        self._context = context
        self._parent = parent
        self._attributes: Mapping[str, Any] = attributes
        self._owned = False  # attributes are shared per site until the first write
        self._start = start
        self._end: int | None = None
        self._events: list[Any] = []
        self._links: list[Link] = []
        self._status = _UNSET

    @property
    def name(self) -> str:
        return self._name

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def _own(self) -> dict[str, Any]:
        if not self._owned:
            self._attributes = dict(self._attributes)
            self._owned = True
        return self._attributes  # type: ignore[return-value]

    def set_attributes(self, attributes: Mapping[str, otel_types.AttributeValue]) -> None:
        if self._end is None:
            self._own().update(attributes)

    def set_attribute(self, key: str, value: otel_types.AttributeValue) -> None:
        if self._end is None:
            self._own()[key] = value

    def add_event(self, name: str, attributes: otel_types.Attributes = None,
                  timestamp: int | None = None) -> None:
        if self._end is None:
            self._events.append(Event(name, attributes, timestamp))

    def add_link(self, context: SpanContext, attributes: otel_types.Attributes = None) -> None:
        if self._end is None:
            self._links.append(Link(context, attributes))

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end is not None:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if self._status.status_code is StatusCode.OK or status.status_code is StatusCode.UNSET:
            return
        self._status = status

    def record_exception(self, exception: BaseException,
                         attributes: otel_types.Attributes = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        record_error(exception, self)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else real_clock.time_ns()
        try:
            shortcut.processor.on_end(FinishedSpan(
                self._name, self._context, self._parent, self._attributes, self._start,
                self._end, self._KIND, self._status, tuple(self._events), tuple(self._links)))
        except Exception:
            log_failure()


log_failure = LogOnce("auto-tracing failed to record a span").failed
