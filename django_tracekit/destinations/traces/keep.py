"""The keep rules, decided in each process when its local part of a trace ends.

- ``error``: a span of the part is an error incident (an entry point failed, or an error was
  recorded explicitly: :mod:`.incidents`), not a handled exception.
- ``sample``: the trace id's lower 64 bits are below ``rate * 2**64``: the same answer in
  every process, for every part of a trace, with no coordination (the lower 64 bits are
  the random part W3C trace ids guarantee; OpenTelemetry's ``TraceIdRatioBased`` reads
  them too).
- ``slow``: per feature (the local root's name) and 10-minute window (by the root's start),
  the :data:`SLOW_PER_WINDOW` slowest roots over all processes, none faster than the
  feature's p90. Each process holds its own slowest roots of the window as *candidates*
  (:class:`SlowRule`); at a flush it writes those at or above its p90 so far (once it saw
  :data:`MIN_SEEN` roots of the window; before that it waits), and the store keeps the
  :data:`SLOW_PER_WINDOW` slowest of the feature and window over every process, taking
  ``slow`` off the faster ones (:func:`django_tracekit.destinations.traces.store.settle_slow`). At
  the
  first flush after the window ends, each process settles it with its final count: a
  written root that is no longer among its slowest or is below its p90 loses ``slow``.
- ``n_plus_one``: a span of the part got a ``tracekit.n_plus_one`` event (one statement
  ran ``DB.N_PLUS_ONE`` times under one parent: :mod:`django_tracekit.sources.db.nplusone`).
  Bounded: per feature and 10-minute window (by the root's start), the first such root in
  each process (:class:`NPlusOneRule`); the store keeps the first written of every process
  (:mod:`.n_plus_one`). An endpoint that always runs an N+1 keeps one trace per window for
  it, not one per request.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from django_tracekit.destinations.traces.records import SpanRow

WINDOW_NS = 600 * 1_000_000_000
WINDOW_US = WINDOW_NS // 1_000
SLOW_PER_WINDOW = 3
MIN_SEEN = 50  # roots of a feature a process sees in a window before it writes a slow one
MAX_FEATURES = 5_000  # tracked per process; new features beyond it are never "slow"
#: Marks the root span a trace was kept "slow" for (an attribute of its row): the store
#: ranks a feature's slow traces by that span's duration.
SLOW_MARK_KEY = "tracekit.keep"
SLOW_MARK = '"tracekit.keep":"slow"'
K = TypeVar("K", int, str)
_BOUND = 2 ** 64
_LOW64 = _BOUND - 1


def sample_threshold(rate: float) -> int:
    """Trace ids whose lower 64 bits are below this are sampled."""
    return int(max(0.0, min(1.0, rate)) * _BOUND)


def sampled(trace_id: int, threshold: int) -> bool:
    return (trace_id & _LOW64) < threshold


def at_or_above_p90(n: int) -> int:
    """How many of ``n`` durations, the slowest first, are at or above their p90 (nearest
    rank: the ``ceil(0.9 n)``-th smallest)."""
    return n - math.ceil(0.9 * n) + 1 if n > 0 else 0


def slowest(durations: dict[K, int], k: int = SLOW_PER_WINDOW) -> list[K]:
    """The keys of ``durations`` beyond its ``k`` largest values (ties: the smaller key
    stays): what loses ``slow``."""
    return sorted(durations, key=lambda key: (-durations[key], key))[k:]


class _Window:
    """One feature's window in this process: roots seen, and its slowest roots (slowest
    first) as [duration_ns, trace_id, written]."""

    __slots__ = ("n", "top", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.n = 0
        self.top: list[list[int]] = []


class Settled:
    """What a flush does with the slow candidates (trace ids)."""

    __slots__ = ("closed", "demote", "keep", "release")

    def __init__(self) -> None:
        self.keep: list[int] = []  # write now, with reason "slow"
        self.release: list[int] = []  # candidates no more: not kept for being slow
        self.demote: list[int] = []  # written as slow, no longer slow: the store takes it off
        self.closed: list[tuple[str, int]] = []  # (feature, window start µs) ended: re-rank


class SlowRule:
    """The ``slow`` rule's state in one process. Not thread-safe: the processor calls it
    under its lock."""

    def __init__(self, per_window: int = SLOW_PER_WINDOW,
                 max_features: int = MAX_FEATURES) -> None:
        self.per_window = per_window
        self.max_features = max_features
        self._features: dict[str, _Window] = {}
        self._closed: list[tuple[str, _Window]] = []
        self._dropped: list[list[int]] = []  # pushed out of a window's slowest

    def observe(self, feature: str, trace_id: int, duration_ns: int, start_ns: int) -> bool:
        """Count one root of ``feature``; whether it is a candidate (among this process's
        slowest of its window so far)."""
        window = start_ns // WINDOW_NS
        state = self._features.get(feature)
        if state is None or state.window != window:
            if state is not None:
                if window < state.window:  # a root of an earlier window (clock skew): ignore
                    return False
                self._closed.append((feature, state))
            elif len(self._features) >= self.max_features:
                return False
            state = self._features[feature] = _Window(window)
        state.n += 1
        top = state.top
        if len(top) >= self.per_window and duration_ns <= top[-1][0]:
            return False
        index = next((i for i, entry in enumerate(top) if duration_ns > entry[0]), len(top))
        top.insert(index, [duration_ns, trace_id, 0])
        if len(top) > self.per_window:
            self._dropped.append(top.pop())
        return True

    def settle(self, now_ns: int, present: set[int] | None = None) -> Settled:
        """At a flush: which candidates to write now, which to release, which written ones
        lose ``slow``, and which windows ended (at ``now_ns``). ``present``: the candidate
        trace ids whose part can still be written (a part evicted from the buffer cannot)."""
        done = Settled()
        for entry in self._dropped:
            (done.demote if entry[2] else done.release).append(entry[1])
        self._dropped = []
        current = now_ns // WINDOW_NS
        for feature, state in list(self._features.items()):
            if state.window < current:
                self._closed.append((feature, state))
                del self._features[feature]
            elif state.n >= MIN_SEEN:
                self._decide(state, done, present, final=False)
        for feature, state in self._closed:
            self._decide(state, done, present, final=True)
            done.closed.append((feature, state.window * WINDOW_US))
        self._closed = []
        return done

    def _decide(self, state: _Window, done: Settled, present: set[int] | None,
                final: bool) -> None:
        allowed = at_or_above_p90(state.n)
        for rank, entry in enumerate(state.top):
            trace_id = entry[1]
            if rank < allowed:
                if not entry[2]:
                    if present is None or trace_id in present:
                        entry[2] = 1
                        done.keep.append(trace_id)
                    elif final:
                        done.release.append(trace_id)
            elif final:
                # Below the p90 of the whole window: never labelled slow.
                (done.demote if entry[2] else done.release).append(trace_id)


class SlowBook:
    """A processor's side of the rule: the :class:`SlowRule`, and what the writer is told
    after a flush's write (``settle_slow``): traces that lose ``slow``, windows that ended,
    and traces written early (for an error) that turned out slow. Bounded while the
    database is down. Not thread-safe: called under the processor's lock (``send`` from
    its flush)."""

    def __init__(self) -> None:
        self.rule = SlowRule()
        self._written: dict[int, int] = {}  # candidates written early: trace id -> root
        self._demote: set[str] = set()
        self._closed: set[tuple[str, int]] = set()
        self._promote: set[tuple[str, str]] = set()  # (trace id, root span id), hex

    def written_early(self, trace_id: int, span_id: int) -> None:
        if len(self._written) < MAX_FEATURES:
            self._written[trace_id] = span_id

    def settle(self, now_ns: int, held: set[int]) -> tuple[list[int], list[int]]:
        """Decide (:meth:`SlowRule.settle`); of the ``held`` candidates (in the buffer):
        those to write as slow now, and those no longer candidates."""
        written = self._written
        done = self.rule.settle(now_ns, held | written.keys())
        slow = []
        for trace_id in done.keep:
            if trace_id in held:
                slow.append(trace_id)
            else:
                self._promote.add((f"{trace_id:032x}", f"{written.pop(trace_id):016x}"))
        release = [t for t in done.release if t in held]
        for trace_id in done.release:
            written.pop(trace_id, None)
        if len(self._demote) + len(self._closed) + len(self._promote) < MAX_FEATURES * 4:
            self._demote.update(f"{t:032x}" for t in done.demote)
            self._closed.update(done.closed)
        return slow, release

    def send(self, writer: Any) -> None:
        """Tell the writer (its ``settle_slow``, when it has one); raises what it raises."""
        if not (self._demote or self._closed or self._promote):
            return
        settle = getattr(writer, "settle_slow", None)
        if settle is not None:
            settle(sorted(self._demote), sorted(self._closed), sorted(self._promote))
        self._demote, self._closed, self._promote = set(), set(), set()


class NPlusOneRule:
    """The ``n_plus_one`` rule's state in one process: per feature, the window of the last
    root kept for an N+1. Not thread-safe: the processor calls it under its lock."""

    def __init__(self, max_features: int = MAX_FEATURES) -> None:
        self.max_features = max_features
        self._kept: dict[str, int] = {}  # feature -> window (start_ns // WINDOW_NS)

    def take(self, feature: str, start_ns: int) -> bool:
        """Whether a root of ``feature`` (started at ``start_ns``) that ran an N+1 is kept
        for it: the first of its window in this process."""
        window = start_ns // WINDOW_NS
        kept = self._kept.get(feature)
        if kept is not None and kept >= window:  # one kept this window (or a later one)
            return False
        if kept is None and len(self._kept) >= self.max_features:
            # Features whose window ended need no memory: forget them, then try again.
            self._kept = {f: w for f, w in self._kept.items() if w >= window}
            if len(self._kept) >= self.max_features:
                return False
        self._kept[feature] = window
        return True


def mark_slow(rows: list[SpanRow], span_id: str) -> list[SpanRow]:
    """``rows`` with the root kept as slow (``span_id``) marked in its attributes."""
    if not span_id:
        return rows
    return [row._replace(attributes=marked(row.attributes)) if row.span_id == span_id else row
            for row in rows]


def marked(attributes: str) -> str:
    """A span's attributes (a JSON object, or empty) with the slow mark."""
    if SLOW_MARK in attributes:
        return attributes
    body = attributes[1:] if attributes.startswith("{") else "}"
    return "{" + SLOW_MARK + ("," if body != "}" else "") + body
