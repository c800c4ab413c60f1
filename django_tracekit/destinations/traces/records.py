"""What the trace store's parts pass between them: a part of a trace (the spans one
process wrote of it) as rows ready for a writer, and the writer's interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from django_tracekit.storage.writer import NotReady

__all__ = ["REASONS", "NotReady", "Part", "PartsLeft", "SpanRow", "Writer", "join_reasons"]

#: Why a trace is kept, in the order ``Trace.reasons`` lists them.
REASONS = ("error", "slow", "n_plus_one", "sample")


def join_reasons(*groups: str) -> str:
    """``"error,sample"``: the union of comma-separated reason lists, in :data:`REASONS`
    order."""
    found = {r for g in groups for r in g.split(",") if r}
    return ",".join(r for r in REASONS if r in found)


class SpanRow(NamedTuple):
    """One span, converted (redacted, capped, JSON-encoded) for a ``TraceSpan`` row."""

    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    start_us: int
    duration_us: int
    is_error: bool
    status_message: str
    attributes: str
    events: str


@dataclass
class Part:
    """The spans of one trace a process has to write, with why the process keeps it
    (``reasons`` empty: another process kept it; this part joins it)."""

    trace_id: str  # 32 lowercase hex
    reasons: str
    spans: list[SpanRow] = field(default_factory=list)
    dropped: int = 0  # spans beyond MAX_SPANS_PER_TRACE in this process
    root_name: str = ""  # the trace's root span (no parent at all), if in this part
    local_root_name: str = ""  # a local root's name: the row's name until the root arrives
    user_id: str = ""

    def merge(self, other: Part) -> None:
        """Add a later part of the same trace (a backlog holding both)."""
        self.reasons = join_reasons(self.reasons, other.reasons)
        self.spans.extend(other.spans)
        self.dropped += other.dropped
        self.root_name = self.root_name or other.root_name
        self.local_root_name = self.local_root_name or other.local_root_name
        self.user_id = self.user_id or other.user_id


class PartsLeft(Exception):
    """A writer committed some parts and then stopped: ``parts`` were not written (kept
    for the next flush; what was committed is never written twice)."""

    def __init__(self, parts: list[Part]) -> None:
        super().__init__(f"{len(parts)} trace part(s) left")
        self.parts = parts


class Writer(Protocol):
    """Where kept parts go: the database (:mod:`django_tracekit.destinations.traces.store`), or
    memory
    in a test run (:mod:`django_tracekit.destinations.traces.memory`). May raise
    :class:`NotReady`."""

    def kept(self, trace_ids: list[str]) -> set[str]:
        """Which of ``trace_ids`` are kept (by any process) already."""
        ...

    def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
        """Write ``parts``; the number of span rows written."""
        ...

    def trim(self, max_traces: int) -> int:
        """Delete (a bounded batch of) the oldest traces beyond ``max_traces``."""
        ...
