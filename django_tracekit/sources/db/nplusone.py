"""Per parent span: how often each normalized statement ran (N+1), and how many queries.

When one parent runs the same statement ``DB.N_PLUS_ONE`` times, it gets one event
``tracekit.n_plus_one`` (``db.query.text``, ``tracekit.n_plus_one.count``) per such
statement, and the event carries the *final* count when the parent ends. OpenTelemetry
lets a span take events only until it ends, and a processor's ``on_end`` comes after
that; so the count is kept current while the parent is open:

- an SDK span (a view, a request, ``tracekit.span()``, a task): its ``end`` is shadowed
  on that one instance, once, by a function that adds the events with their final counts
  and then calls the class's own ``end`` (public methods only);
- an auto-traced function's span (``core.spans.AutoSpan``, tracekit's own): the event
  is added when the threshold is crossed with an attribute mapping tracekit owns, whose
  count is updated in place until the span ends (the span hands that same mapping to the
  processors when it ends);
- any other span: the event is added when the threshold is crossed, with that count.

A loop over the team's auto-traced per-item code (a serializer's ``to_representation`` or
``get_*`` per object, a helper called per row) runs the statement once in each of N short
spans: no parent reaches the threshold. So a query whose parent is an auto-traced call's
span is also counted at that call's *boundary* -- the span whose context was attached when
the calls began (the view, the request, the task, a ``tracekit.span()``) -- and the
boundary gets the event when the statement repeats there, unless a span below it already
got one for that statement (the boundary of an SDK span leaves those out when it ends).

Tallies live in a dict keyed by the parent's span id (a weak reference to the parent where
the span type allows one); ended parents are swept when it grows (amortized), and at most
:data:`MAX_PARENTS` open ones are kept.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import Span, get_current_span

from django_tracekit.core.chain import ROOT, Root, top
from django_tracekit.core.logonce import LogOnce
from django_tracekit.core.spans import AutoSpan
from django_tracekit.core.vocabulary import N_PLUS_ONE_COUNT, N_PLUS_ONE_EVENT

MAX_SPANS = 1_000  # query spans per parent; beyond, queries are counted, not spans
#: On a parent that ran more than MAX_SPANS queries: how many made no span.
SPANS_DROPPED = "tracekit.db.spans_dropped"
MAX_PARENTS = 10_000  # open parents tracked at once
MAX_STATEMENTS = 1_000  # distinct statements counted per parent
MAX_EVENTS = 10  # N+1 events per parent (distinct statements)
_SWEEP_FROM = 256

_failed = LogOnce("adding an N+1 event failed").failed


class Tally:
    """One parent's statement counts and the N+1 events it has (or will get)."""

    __slots__ = ("below", "counts", "flagged", "queries", "ref")

    def __init__(self, span: Span) -> None:
        # Weakly, where the span allows it (SDK spans): an ended parent is not kept alive
        # (with its attributes and events) until the next sweep.
        try:
            self.ref: Callable[[], Span | None] = weakref.ref(span)
        except TypeError:  # __slots__ without __weakref__ (AutoSpan): small, kept
            self.ref = lambda: span
        self.counts: dict[str, int] = {}
        self.queries = 0
        # key -> the event's attributes (kept current), in the order they crossed
        self.flagged: dict[str, dict[str, Any]] = {}
        # statements a span below this boundary was flagged for: not flagged again here
        self.below: set[str] = set()


_tallies: dict[int, Tally] = {}
_lock = threading.Lock()
_sweep_at = _SWEEP_FROM


def count(parent: Span, key: str, text: str, threshold: int) -> bool:
    """``parent`` ran the statement ``key`` (shown as ``text``) once more. Returns whether
    the query gets a span of its own (not beyond :data:`MAX_SPANS` per parent: a loop of a
    million queries in one command is counted, and the parent says how many were left out
    in :data:`SPANS_DROPPED`)."""
    boundary = _boundary(parent) if isinstance(parent, AutoSpan) else None
    with _lock:
        tally = _tally_of(parent)
        tally.queries += 1
        dropped = tally.queries - MAX_SPANS
        crossed = _tally(tally, key, text, threshold)
        at_boundary = None
        if boundary is not None:
            outer = _tally_of(boundary)
            if key in tally.flagged:
                outer.below.add(key)
            elif key not in outer.below:
                at_boundary = _tally(outer, key, text, threshold)
    if crossed is not None:
        _crossed(parent, tally, *crossed)
    if at_boundary is not None:
        _crossed(boundary, outer, *at_boundary)  # type: ignore[arg-type]
    if dropped > 0:
        try:
            parent.set_attribute(SPANS_DROPPED, dropped)
        except Exception:
            _failed()
        return False
    return True


def _boundary(parent: AutoSpan) -> Span | None:
    """The recording span whose context was attached when the pending auto-traced calls
    above ``parent`` began, if it is not ``parent`` itself."""
    node = top()
    if node.__class__ is list:
        node = node[ROOT]
    if node.__class__ is not Root:
        return None
    span = get_current_span(node.ctx)
    return span if span is not parent and span.is_recording() else None


def _tally_of(span: Span) -> Tally:
    """``span``'s tally, made if new (under ``_lock``)."""
    span_id = span.get_span_context().span_id
    tally = _tallies.get(span_id)
    if tally is None or tally.ref() is not span:
        tally = _tallies[span_id] = Tally(span)
        if len(_tallies) > _sweep_at:
            _sweep()
    return tally


def _tally(tally: Tally, key: str, text: str,
           threshold: int) -> tuple[dict[str, Any], bool] | None:
    """Count ``key`` (under ``_lock``); the event's attributes when it just crossed."""
    n = tally.counts.get(key)
    if n is None:
        if len(tally.counts) >= MAX_STATEMENTS:
            return None
        n = 0
    n += 1
    tally.counts[key] = n
    if n < threshold:
        return None
    attributes = tally.flagged.get(key)
    if attributes is not None:
        attributes[N_PLUS_ONE_COUNT] = n
        return None
    if len(tally.flagged) >= MAX_EVENTS:
        return None
    attributes = tally.flagged[key] = {"db.query.text": text, N_PLUS_ONE_COUNT: n}
    return attributes, len(tally.flagged) == 1


def _crossed(span: Span, tally: Tally, attributes: dict[str, Any], first: bool) -> None:
    try:
        if isinstance(span, AutoSpan):
            span.add_event(N_PLUS_ONE_EVENT, attributes)  # keeps this mapping: counts update
        elif isinstance(span, SdkSpan):
            if first:
                _add_at_end(span, tally)
        else:
            span.add_event(N_PLUS_ONE_EVENT, dict(attributes))
    except Exception:
        _failed()


def _add_at_end(span: SdkSpan, tally: Tally) -> None:
    """Shadow ``end`` on this span: the events, with their final counts, then the end."""
    real_end = type(span).end

    def end(end_time: int | None = None) -> None:
        try:
            with _lock:
                flagged = [dict(a) for k, a in tally.flagged.items() if k not in tally.below]
                _tallies.pop(span.get_span_context().span_id, None)
            for attributes in flagged:
                span.add_event(N_PLUS_ONE_EVENT, attributes)
        except Exception:
            _failed()
        real_end(span, end_time)

    try:
        span.end = end  # type: ignore[method-assign]
    except (AttributeError, TypeError):  # a subclass with __slots__: the count so far
        span.add_event(N_PLUS_ONE_EVENT, dict(next(iter(tally.flagged.values()))))


def _sweep() -> None:
    """Forget ended parents (under ``_lock``); keep at most MAX_PARENTS open ones."""
    global _sweep_at
    for span_id in [i for i, t in _tallies.items() if not _open(t.ref())]:
        del _tallies[span_id]
    while len(_tallies) > MAX_PARENTS:
        del _tallies[next(iter(_tallies))]  # the oldest
    _sweep_at = max(_SWEEP_FROM, 2 * len(_tallies))


def _open(span: Span | None) -> bool:
    return span is not None and span.is_recording()


def clear() -> None:
    """Forget every tally (tests)."""
    with _lock:
        _tallies.clear()


def tracked() -> int:
    """How many parents have tallies now (tests)."""
    with _lock:
        return len(_tallies)
