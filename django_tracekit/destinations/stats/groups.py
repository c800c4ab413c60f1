"""Error groups, write side: every recorded error counted in its group, in memory.

An error is counted once, where it was raised: the error listener (``errors.add_listener``)
is called once per incident, sampled or not: when the error is recorded explicitly, or when
an exception raised in a function span escapes its entry point (an exception the
application handled is not an incident: not counted). The occurrence names the raising
span (its stack); the enclosing spans only carry a reference and are not counted again.

Which entry point it belongs to is known only when that entry point's span ends (a request,
task or command, or the local root span of the process when there is none): until then the
occurrence waits, per trace, and is claimed by that span in the processor's ``on_end`` (one
dict check there when nothing waits). An occurrence whose entry point never ends in this
process (after :data:`PENDING_MAX_S`, or at exit) counts under ``(other)``.

Per flush window: ``{(fingerprint, feature, kind, service, minute): count}`` (exact, every
error), the groups' type and location, and at most :data:`EXAMPLES_PER_GROUP` examples per
group (message, stack, trace id). The writer (:mod:`.groups_store`) upserts increments:
writes grow with groups and entry points, never with errors.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Span

from django_tracekit.core import clock as real_clock
from django_tracekit.core.errors import first_event, recorded_in
from django_tracekit.core.features import feature_name
from django_tracekit.core.fingerprint import GROUP_ATTRIBUTE, Group, group_of
from django_tracekit.destinations.stats.records import FUNCTION, MINUTE_NS, OTHER_FEATURE, NotReady

logger = logging.getLogger("django_tracekit")

EXAMPLES_PER_GROUP = 3  # per flush window
MAX_GROUP_KEYS = 5_000  # (group, entry point, minute) per window; beyond: the (other) group
MAX_BACKLOG_KEYS = 20_000  # kept across failed writes
MAX_PENDING = 10_000  # occurrences waiting for their entry point to end
PENDING_MAX_S = 3600.0
OTHER_GROUP = Group("0" * 16, "(other)", "", "", 0)

GroupKey = tuple[str, str, str, str, int]  # fingerprint, feature, kind, service, minute


class Occurrence(NamedTuple):
    group: Group
    time_ns: int
    message: str
    stacktrace: str
    trace_id: str
    span_id: str
    example: bool = True  # kept as an example (message, stack); else only counted


class Example(NamedTuple):
    fingerprint: str
    feature: str
    kind: str
    service: str
    occurrence: Occurrence


@dataclass
class GroupBatch:
    """What one flush writes: exact counts, the groups they name, a few examples."""

    counts: dict[GroupKey, int] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.counts or self.examples)

    def merge(self, other: GroupBatch) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.groups.update(other.groups)
        self.examples.extend(other.examples)
        del self.examples[:-EXAMPLES_PER_GROUP * 200]

    def trim(self, max_keys: int) -> int:
        """Drop the oldest minutes beyond ``max_keys``; returns the errors dropped."""
        excess = len(self.counts) - max_keys
        dropped = 0
        if excess > 0:
            for key in sorted(self.counts, key=lambda k: k[4])[:excess]:
                dropped += self.counts.pop(key)
        return dropped


GroupWriter = Callable[[GroupBatch], object]


class GroupCounter:
    """The error groups of one stats processor."""

    def __init__(self, writer: GroupWriter | None) -> None:
        self.writer = writer
        self._lock = threading.Lock()
        self.pending: dict[int, list[Occurrence]] = {}
        self._pending_count = 0
        self._batch = GroupBatch()
        self._examples: dict[str, int] = {}
        self._backlog = GroupBatch()
        self.dropped = 0
        self.service = "unknown_service"  # the processor's, once a span named it

    # -- application threads -------------------------------------------------------------
    def raised(self, exc: BaseException, span: Span) -> None:
        """An error was recorded on ``span`` (where it was raised): wait for its entry point."""
        group = group_of(exc)
        context = span.get_span_context()
        with self._lock:  # only a few examples per group and window keep their texts
            taken = self._examples.get(group.fingerprint, 0)
            example = taken < EXAMPLES_PER_GROUP
            if example:
                self._examples[group.fingerprint] = taken + 1
        message, stack = "", ""
        for event in reversed(getattr(span, "events", ()) or ()):
            attributes = event.attributes or {}
            if not example:
                break
            if event.name == "exception" and attributes.get(GROUP_ATTRIBUTE) == group.fingerprint:
                message = str(attributes.get("exception.message") or "")
                stack = str(attributes.get("exception.stacktrace") or "")
                break
        else:
            first = first_event(exc) if example else None  # raised in a span that ended
            if first is not None:
                message = str(first.get("exception.message") or "")
                stack = str(first.get("exception.stacktrace") or "")
            else:
                try:
                    message = str(exc)[:4096] if example else ""
                except Exception:  # a broken __str__ must not break counting
                    message = "<exception str() failed>"
        raised_in = recorded_in(exc)  # the span holding the stack ("where first seen")
        if raised_in is not None and raised_in.is_valid and raised_in.trace_id == \
                context.trace_id:
            context = raised_in
        occurrence = Occurrence(group, real_clock.time_ns(), message, stack,
                                format(context.trace_id, "032x") if context.is_valid else "",
                                format(context.span_id, "016x") if context.is_valid else "",
                                example)
        with self._lock:
            if self._pending_count >= MAX_PENDING or not context.is_valid:
                self._count(occurrence, OTHER_FEATURE, FUNCTION, self.service)
                return
            self.pending.setdefault(context.trace_id, []).append(occurrence)
            self._pending_count += 1

    def claim_uncounted(self, span: ReadableSpan, kind: str,
                        attributes: Mapping[str, Any] | None) -> None:
        """A span of a kind ``STATS['KINDS']`` leaves out claims its errors as an entry
        point (or local root) of that kind would: error groups count every error."""
        parent = span.parent
        if kind == FUNCTION and parent is not None and not parent.is_remote:
            return
        service = str(span.resource.attributes.get("service.name", self.service))
        self.claim(span.context.trace_id, span.start_time or 0,
                   feature_name(span.name, kind, attributes), kind, service)

    def claim(self, trace_id: int, start_ns: int, feature: str, kind: str,
              service: str) -> None:
        """An entry point (or local root) span of ``trace_id`` ended: its errors are counted
        under it (those raised after it started; earlier ones wait for an outer one)."""
        with self._lock:
            waiting = self.pending.pop(trace_id, None)
            if not waiting:
                return
            later = [o for o in waiting if o.time_ns < start_ns]
            if later:
                self.pending[trace_id] = later
            self._pending_count -= len(waiting) - len(later)
            for occurrence in waiting:
                if occurrence.time_ns >= start_ns:
                    self._count(occurrence, feature, kind, service)

    def _count(self, occurrence: Occurrence, feature: str, kind: str, service: str) -> None:
        group = occurrence.group
        batch = self._batch
        key = (group.fingerprint, feature, kind, service, occurrence.time_ns // MINUTE_NS)
        if key not in batch.counts and len(batch.counts) >= MAX_GROUP_KEYS:
            group = OTHER_GROUP
            key = (group.fingerprint, OTHER_FEATURE, FUNCTION, service, key[4])
        batch.counts[key] = batch.counts.get(key, 0) + 1
        batch.groups.setdefault(group.fingerprint, group)
        if group is not OTHER_GROUP and occurrence.example:
            batch.examples.append(Example(group.fingerprint, feature, kind, service,
                                          occurrence))

    # -- the flusher ---------------------------------------------------------------------
    def drain(self, service: str, everything: bool = False) -> GroupBatch:
        """The window's batch; occurrences waiting longer than :data:`PENDING_MAX_S` (all,
        with ``everything``: at exit) counted under ``(other)``."""
        oldest = real_clock.time_ns() - int(PENDING_MAX_S * 1e9)
        with self._lock:
            for trace_id in list(self.pending):
                waiting = self.pending[trace_id]
                stale = waiting if everything else [o for o in waiting if o.time_ns < oldest]
                if not stale:
                    continue
                for occurrence in stale:
                    self._count(occurrence, OTHER_FEATURE, FUNCTION, service)
                kept = [] if everything else [o for o in waiting if o.time_ns >= oldest]
                self._pending_count -= len(waiting) - len(kept)
                if kept:
                    self.pending[trace_id] = kept
                else:
                    del self.pending[trace_id]
            batch, self._batch = self._batch, GroupBatch()
            self._examples = {}
        return batch

    def take(self, service: str) -> GroupBatch:
        """Everything counted and not written (the occurrences still waiting for their entry
        point too, as at exit), taken out (``handover.py``)."""
        self._backlog.merge(self.drain(service, everything=True))
        batch, self._backlog = self._backlog, GroupBatch()
        return batch

    def add(self, batch: GroupBatch) -> None:
        """Counts another process took out: written by this one's next flush."""
        with self._lock:
            self._batch.merge(batch)

    def flush(self, writer: GroupWriter | None, service: str, everything: bool = False) -> bool:
        """Write the window's batch (and what a failed write left); ``False`` if it failed."""
        batch = self.drain(service, everything)
        if writer is None:
            return True
        self._backlog.merge(batch)
        if not self._backlog:
            return True
        try:
            writer(self._backlog)
        except NotReady:
            self.dropped += self._backlog.trim(MAX_BACKLOG_KEYS)
            return False
        except Exception as exc:
            self.dropped += self._backlog.trim(MAX_BACKLOG_KEYS)
            logger.debug("tracekit: writing error groups failed: %s", exc, exc_info=True)
            return False
        self._backlog = GroupBatch()
        return True


class MemoryGroups:
    """Where a test run's error groups go (in memory): counts per fingerprint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.groups: dict[str, Group] = {}

    def __call__(self, batch: GroupBatch) -> None:
        with self._lock:
            for key, n in batch.counts.items():
                self.counts[key[0]] = self.counts.get(key[0], 0) + n
            self.groups.update(batch.groups)

    def clear(self) -> None:
        with self._lock:
            self.counts.clear()
            self.groups.clear()


memory_groups = MemoryGroups()


def database_writer(batch: GroupBatch) -> object:
    from django_tracekit.destinations.stats.groups_store import write

    return write(batch)
