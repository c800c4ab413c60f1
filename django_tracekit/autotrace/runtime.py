"""What rewritten functions call at run time: counting, pending frames, retroactive spans.

The rewriter (``rewrite.py``) turns every included function into::

    def f(...):
        _tk_t = _tk_top()
        _tk_t = _tk_clock() if _tk_t is None else _tk_push(CID, _tk_t)
        try:
            ...original body...
        except BaseException as _tk_e:
            _tk_raise(CID, _tk_t, _tk_e)
            raise
        finally:
            if _tk_t.__class__ is float:          # not recording: count, inline
                _tk_t = _tk_clock() - _tk_t
                _tk_cCID.n += 1
                _tk_cCID.t += _tk_t
                if _tk_t > _tk_cCID.m:
                    _tk_cCID.m = _tk_t
            else:                                  # recording: a pending Frame
                _tk_pop(CID, _tk_t)

Why this shape (measured, see docs/autotrace.md): the clock is the dominant cost on this
machine (``time.perf_counter()`` ~90 ns, ``time.time_ns()`` ~100 ns: big-int allocation),
a Python-level call costs ~45 ns, so the not-recording path makes no Python call at all:
one ``ContextVar.get`` (C), two clock reads (C) and three slot updates. The counter update
sequence contains no call and no backward jump, so on CPython 3.11+ (eval-breaker checks only
at calls, resumes and backward jumps) no thread switch can interleave it: counts are exact.

While a trace is recording, ``_tk_top()`` returns the innermost *node* of this execution
context: a :class:`Root` (set by the hooked OpenTelemetry runtime context whenever a context
whose span is recording is attached) or a pending :class:`Frame` (an auto-traced call that
has started and has no span yet). Frames form an immutable linked list held in a
``ContextVar``, so asyncio tasks and ``copy_context()`` threads each see their own chain
and share only their ancestors (which are their real ancestors).

No span exists for a pending frame. At exit a frame becomes a span only if it took at least
``MIN_DURATION_MS``, raised an error, or was *materialized* earlier: something needed it as
a parent (a kept descendant, or another instrumentation reading the current context via
``opentelemetry.context.get_current()`` -- e.g. a DB-query span or ``tracekit.span()``).
Materializing walks the chain down to the attached context (O(pending frames)) and creates
the missing spans with their real start times, so every kept span's parent is its nearest
kept ancestor.

Cost of the pending frame (measured): a below-threshold call inside a recorded trace adds
~0.6 us (two Python calls, a list, ``ContextVar.set``/``reset``) against ~0.2 us outside
traces; the 0.3 us goal is met only outside traces. docs/autotrace.md describes the design
that would close the gap (walk Python frames only when a span is needed).

Spans are built as :class:`AutoSpan` objects and handed to the provider's span processors
as ``ReadableSpan``s on end: ``tracer.start_span()`` + ``end()`` costs ~0.75x
``start_as_current_span`` (sampler, locks, attribute validation, ``_readable_span`` copy),
which cannot meet the 0.25x goal. The shortcut is taken only when the SDK would make the
same decision (SDK tracer, ``ParentBased`` sampler, sampled parent); otherwise the SDK path
is used. Processors see these spans in ``on_end`` only (not ``on_start``): they are created
when their call has already finished.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation import _SPAN_KEY
from opentelemetry.util import types as otel_types

from django_tracekit import naming
from django_tracekit import tracer as tracer_module

logger = logging.getLogger("django_tracekit")

_clock = time.perf_counter


class Counter:
    """Per call site: calls, total seconds, max seconds (updated inline by rewritten code);
    and of those, the calls that became spans and their seconds (``k``, ``kt``), so the stats
    pipeline, which counts spans, adds only the calls that did not become one."""

    __slots__ = ("k", "kt", "m", "n", "t")

    def __init__(self) -> None:
        self.n = 0
        self.t = 0.0
        self.m = 0.0
        self.k = 0
        self.kt = 0.0


@dataclass
class Site:
    """One instrumented function (code location) and its counter."""

    cid: int
    module: str
    qualname: str
    filename: str
    lineno: int
    counter: Counter
    _location: naming.CodeLocation | None = None

    @property
    def location(self) -> naming.CodeLocation:
        if self._location is None:
            self._location = naming.CodeLocation(
                name=naming.convention_name(self.module, self.qualname),
                function=f"{self.module}.{self.qualname}",
                file_path=self.filename,
                line_number=self.lineno,
            )
        return self._location


_sites: list[Site] = []
_counters: list[Counter] = []  # _counters[cid] is _sites[cid].counter (one subscript, hot)
_names: list[str] = []  # _names[cid]: the convention name, "" until first needed
_sites_lock = threading.Lock()


def new_site(module: str, qualname: str, filename: str, lineno: int) -> Site:
    with _sites_lock:
        site = Site(len(_sites), module, qualname, filename, lineno, Counter())
        _sites.append(site)
        _counters.append(site.counter)
        _names.append("")
    return site


def _name_of(cid: int) -> str:
    name = _names[cid] = _sites[cid].location.name
    return name


def sites() -> Sequence[Site]:
    return _sites


def site_attributes(cid: int) -> dict[str, Any]:
    return _sites[cid].location.attributes


# --- settings ---------------------------------------------------------------------------

_threshold = 0.001  # seconds; MIN_DURATION_MS / 1000


def set_threshold(seconds: float) -> None:
    global _threshold
    _threshold = seconds


def threshold() -> float:
    return _threshold


# --- the pending-frame chain -------------------------------------------------------------

class Root:
    """The attached OpenTelemetry context, while its span is recording."""

    __slots__ = ("ctx", "name", "sc")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sc: SpanContext | None = None  # its span's context, when first needed
        self.name: str | None = None  # its span's name, when first needed

    def span_name(self) -> str:
        name = self.name
        if name is None:
            name = self.name = str(getattr(trace.get_current_span(self.ctx), "name", "") or "")
        return name

    def span_context(self) -> SpanContext:
        if self.sc is None:
            self.sc = trace.get_current_span(self.ctx).get_span_context()
        return self.sc


# A pending frame is a plain list (a list literal is ~4x cheaper to build than a __slots__
# object with as many fields); these are its indices.
T0, CID, PREV, ROOT, TOKEN, SPAN, CTX, DONE, ERROR, T1 = range(10)
Frame = list  # [t0, cid, prev (Frame | Root), root, token, span, ctx, done, error, t1]
Node = Any  # Frame | Root

_top: contextvars.ContextVar[Node] = contextvars.ContextVar("tracekit_autotrace_top",
                                                             default=None)
top = _top.get
_get_top = _top.get
_set_top = _top.set
_reset_top = _top.reset


def push(cid: int, node: Node) -> Frame[Any] | None:
    """Entry of an auto-traced call while a trace records (``node`` is ``_tk_top()``)."""
    # The attached span may already stand for this call (the middleware's view span, the
    # Celery task span, @traced around an auto-traced function): no second span of the same
    # name, no second count.
    if node.__class__ is Root and (node.name or node.span_name()) == (
            _names[cid] or _name_of(cid)):
        return None
    frame = [0.0, cid, node, node if node.__class__ is Root else node[ROOT], None, None, None,
             False, False, 0.0]
    frame[TOKEN] = _set_top(frame)
    frame[T0] = _clock()  # last: our own bookkeeping is not charged to the call
    return frame


def pop(cid: int, frame: Frame[Any] | None) -> None:
    """Exit of a call that started while recording (or of a paused generator: ``None``)."""
    if frame is None:
        return
    t1 = _clock()
    duration = t1 - frame[T0]
    counter = _counters[cid]
    counter.n += 1
    counter.t += duration
    if duration > counter.m:
        counter.m = duration
    frame[T1] = t1
    if frame[SPAN] is not None or duration >= _threshold or frame[ERROR]:
        counter.k += 1
        counter.kt += duration
        try:
            _keep(frame)
        except Exception:
            _log_failure()
    frame[DONE] = True
    if _get_top() is frame:
        try:
            _reset_top(frame[TOKEN])
        except (ValueError, RuntimeError):  # resumed in another context: set, don't reset
            _set_top(frame[PREV])
    else:
        # A context was attached inside this call and not detached (attach in __enter__,
        # detach in __exit__): trust the attached context, not our chain.
        _set_top(_node_for(_real().get_current()))


def pause(cid: int, state: Frame[Any] | float | None) -> None:
    """A generator suspends (yield): end the running segment; it counts as one call."""
    if state is None:
        return None
    if state.__class__ is float:
        duration = _clock() - state
        counter = _counters[cid]
        counter.n += 1
        counter.t += duration
        if duration > counter.m:
            counter.m = duration
        return None
    pop(cid, state)  # type: ignore[arg-type]
    return None


def resume(cid: int) -> Frame[Any] | float | None:
    """A generator resumes: a new segment starts."""
    node = _get_top()
    if node is None:
        return _clock()
    return push(cid, node)


def on_raise(cid: int, state: Frame[Any] | float | None, exc: BaseException) -> None:
    """An exception escapes an auto-traced call: errors are kept and recorded (once)."""
    if state is None or state.__class__ is float:
        return
    from django_tracekit.errors import handle_escaping, is_error

    if not is_error(exc) or isinstance(exc, (StopIteration, StopAsyncIteration)):
        return  # expected outcomes (Http404, ...) and iteration protocol are not errors
    frame: Frame[Any] = state  # type: ignore[assignment]
    try:
        frame[ERROR] = True
        with _lock:
            _materialize(frame)
        # Innermost kept frame: the event with the full stack; outer ones: a reference.
        handle_escaping(exc, frame[SPAN])
    except Exception:
        _log_failure()


# --- spans -------------------------------------------------------------------------------

_lock = threading.RLock()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # a fork while another thread held it must not deadlock
    # The parent counts (and reports) the calls made before the fork; the child starts at 0.
    for counter in _counters:
        counter.n = counter.k = 0
        counter.t = counter.m = counter.kt = 0.0


os.register_at_fork(after_in_child=_after_fork_in_child)


def _keep(frame: Frame[Any]) -> None:
    span = frame[SPAN]
    if span is None:
        # Kept at exit and never needed as a parent: emit it directly, no span object.
        with _lock:
            parent = frame[PREV]
            if parent.__class__ is Root:
                parent_sc = parent.span_context()
            else:
                _materialize(parent)
                parent_sc = parent[SPAN].get_span_context()
            offset = _offset()
            tracer = tracer_module.get_tracer()
            if _fast.key is not tracer:
                _fast.refresh(tracer)
            if _fast.ok and parent_sc.is_valid and parent_sc.trace_flags.sampled:
                _emit(frame[CID], parent_sc, frame[T0], frame[T1], offset)
                return
            _materialize(frame)
            span = frame[SPAN]
    span.end(end_time=int(frame[T1] * 1e9) + _offset())


def _materialize(frame: Frame[Any]) -> None:
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
        span = _start_span(item[CID], parent_sc, item[ROOT], item[T0], offset)
        item[SPAN] = span
        if item[DONE]:  # an ancestor that already returned (a task outliving its caller)
            span.end(end_time=int(item[T1] * 1e9) + offset)
        parent_sc = span.get_span_context()


def _context_of(frame: Frame[Any]) -> Context:
    """The context with ``frame``'s span current (built once, on demand)."""
    ctx: Context | None = frame[CTX]
    if ctx is None:
        ctx = frame[CTX] = trace.set_span_in_context(frame[SPAN], frame[ROOT].ctx)
    return ctx


_offset_cache = [-10.0, 0]  # [perf_counter when measured, offset ns]


def _offset() -> int:
    # perf_counter for durations (monotonic); the SDK stamps spans with time_ns(): convert
    # with an offset re-measured at most every 0.2 s (two clock reads, 0.2 us here, per kept
    # span otherwise), so our spans line up with the SDK's spans around them even when the
    # wall clock is stepped.
    now = _clock()
    if now - _offset_cache[0] > 0.2:
        _offset_cache[1] = time.time_ns() - int(_clock() * 1e9)
        _offset_cache[0] = now
    return int(_offset_cache[1])


class _Fast:
    """What the ReadableSpan shortcut needs from the SDK tracer (``ok`` False: SDK path)."""

    def __init__(self) -> None:
        self.key: Any = None
        self.ok = False
        self.resource: Any = None
        self.scope: Any = None
        self.processor: Any = None
        self.span_id: Any = None

    def refresh(self, tracer: trace.Tracer) -> None:
        from opentelemetry.sdk.trace import Tracer as SdkTracer
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

        self.key = tracer
        self.ok = False
        if not isinstance(tracer, SdkTracer):
            return
        sampler = tracer.sampler
        # A sampled parent under ParentBased(local_parent_sampled=ALWAYS_ON) means: sampled.
        if (not isinstance(sampler, ParentBased)
                or getattr(sampler, "_local_parent_sampled", None) is not ALWAYS_ON):
            return
        self.resource = tracer.resource
        self.scope = tracer._instrumentation_scope
        self.processor = tracer.span_processor
        self.span_id = tracer.id_generator.generate_span_id
        self.ok = True


_fast = _Fast()


def _child_context(parent: SpanContext) -> SpanContext:
    # SpanContext.__new__ re-validates the ids (0.65 us here, a tenth of a kept span): the
    # parent's trace id is valid and the SDK's span ids are non-zero 64-bit ints, so build
    # the (documented) tuple directly, with is_valid True.
    return tuple.__new__(SpanContext, (parent.trace_id, _fast.span_id(), False,
                                       parent.trace_flags, parent.trace_state, True))


def _start_span(cid: int, parent_sc: SpanContext, root: Root, t0: float, offset: int) -> Span:
    tracer = tracer_module.get_tracer()
    if _fast.key is not tracer:
        _fast.refresh(tracer)
    name = _sites[cid].location.name
    start = int(t0 * 1e9) + offset
    if _fast.ok and parent_sc.is_valid and parent_sc.trace_flags.sampled:
        return AutoSpan(name, _child_context(parent_sc), parent_sc, site_attributes(cid), start)
    parent_ctx = trace.set_span_in_context(trace.NonRecordingSpan(parent_sc), root.ctx)
    return tracer.start_span(name, context=parent_ctx, attributes=site_attributes(cid),
                             start_time=start)


def _emit(cid: int, parent_sc: SpanContext, t0: float, t1: float, offset: int) -> None:
    """A kept span that nobody needed as a parent: straight to the processors."""
    _fast.processor.on_end(ReadableSpan(
        name=_sites[cid].location.name, context=_child_context(parent_sc), parent=parent_sc,
        resource=_fast.resource, attributes=site_attributes(cid), kind=SpanKind.INTERNAL,
        status=_UNSET, start_time=int(t0 * 1e9) + offset, end_time=int(t1 * 1e9) + offset,
        instrumentation_scope=_fast.scope))


_UNSET = Status(StatusCode.UNSET)


class AutoSpan(Span):
    """A recording span delivered straight to the processors as a ReadableSpan on end."""

    __slots__ = ("_attributes", "_context", "_end", "_events", "_links", "_name", "_owned",
                 "_parent", "_start", "_status")

    def __init__(self, name: str, context: SpanContext, parent: SpanContext,
                 attributes: dict[str, Any], start: int) -> None:
        self._name = name
        self._context = context
        self._parent = parent
        self._attributes = attributes
        self._owned = False  # attributes are shared per site until the first write
        self._start = start
        self._end: int | None = None
        self._events: list[Any] = []
        self._links: list[Link] = []
        self._status = _UNSET

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def _own(self) -> dict[str, Any]:
        if not self._owned:
            self._attributes = dict(self._attributes)
            self._owned = True
        return self._attributes

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
        from django_tracekit.errors import record_error

        record_error(exception, self)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        self._end = end_time if end_time is not None else time.time_ns()
        try:
            _fast.processor.on_end(ReadableSpan(
                name=self._name, context=self._context, parent=self._parent,
                resource=_fast.resource, attributes=self._attributes,
                events=tuple(self._events), links=tuple(self._links), kind=SpanKind.INTERNAL,
                status=self._status, start_time=self._start, end_time=self._end,
                instrumentation_scope=_fast.scope))
        except Exception:
            _log_failure()


# --- the hooked OpenTelemetry runtime context ---------------------------------------------

def _recording(ctx: Context) -> bool:
    span = ctx.get(_SPAN_KEY)
    return isinstance(span, Span) and span.is_recording()


def _node_for(ctx: Context) -> Root | None:
    return Root(ctx) if _recording(ctx) else None


class HookedRuntimeContext:
    """Wraps OpenTelemetry's runtime context so pending frames become real parents.

    ``attach`` marks the boundary (a :class:`Root`) for frames entered afterwards;
    ``get_current`` materializes the pending frames above the attached context and returns
    a context whose current span is the innermost one.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self._tokens: dict[int, tuple[object, contextvars.Token[Node]]] = {}

    def attach(self, context: Context) -> object:
        token = self.real.attach(context)
        ours = _set_top(_node_for(context))
        self._tokens[id(token)] = (token, ours)
        return token

    def detach(self, token: object) -> None:
        self.real.detach(token)
        entry = self._tokens.pop(id(token), None)
        if entry is not None and entry[0] is token:
            with contextlib.suppress(ValueError, RuntimeError):
                _reset_top(entry[1])
        # Validate: skip frames that already returned, and re-anchor on the real context.
        node = _get_top()
        while node.__class__ is list and node[DONE]:
            node = node[PREV]
        current = self.real.get_current()
        if node is None or (node if node.__class__ is Root else node[ROOT]).ctx is not current:
            node = _node_for(current)
        if node is not _get_top():
            _set_top(node)

    def get_current(self) -> Context:
        node = _get_top()
        current: Context = self.real.get_current()
        if node.__class__ is not list or node[ROOT].ctx is not current:
            return current
        try:
            with _lock:
                _materialize(node)
            return _context_of(node)
        except Exception:
            _log_failure()
            return self.real.get_current()  # type: ignore[no-any-return]


def _real() -> Any:
    runtime: Any = otel_context._RUNTIME_CONTEXT
    return runtime.real if isinstance(runtime, HookedRuntimeContext) else runtime


def hook_context() -> None:
    runtime: Any = otel_context._RUNTIME_CONTEXT
    if not isinstance(runtime, HookedRuntimeContext):
        otel_context._RUNTIME_CONTEXT = HookedRuntimeContext(runtime)  # type: ignore[assignment]
        # The context current now (this thread) becomes the first boundary.
        _set_top(_node_for(runtime.get_current()))


def unhook_context() -> None:
    runtime: Any = otel_context._RUNTIME_CONTEXT
    if isinstance(runtime, HookedRuntimeContext):
        otel_context._RUNTIME_CONTEXT = runtime.real
    _set_top(None)


# --- counters ----------------------------------------------------------------------------

def iter_counts(reset: bool) -> Iterator[tuple[Site, int, float, float, int, float]]:
    """Per site: calls, total s, max s, and of those the calls that became spans, their s."""
    for site in list(_sites):
        c = site.counter
        # No call between the reads and the resets: atomic w.r.t. other threads (3.11+).
        n, t, m, k, kt = c.n, c.t, c.m, c.k, c.kt
        if reset:
            c.n = 0
            c.t = 0.0
            c.m = 0.0
            c.k = 0
            c.kt = 0.0
        if n:
            yield site, n, t, m, k, kt


_failure_logged = False


def _log_failure() -> None:
    global _failure_logged
    if not _failure_logged:
        _failure_logged = True
        logger.exception("tracekit: auto-tracing failed to record a span")
