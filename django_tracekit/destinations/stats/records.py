"""The records the stats pipeline passes between its parts: what the processor aggregates
and what a writer (``store.write``, the in-memory writer of test runs) receives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django_tracekit.core.features import FUNCTION, KINDS, OTHER_FEATURE, REQUEST, TASK
from django_tracekit.storage.writer import NotReady

# Re-exported: the stats' kinds and overflow feature, and what a writer that cannot write
# yet raises.
__all__ = ["FUNCTION", "KINDS", "OTHER_FEATURE", "REQUEST", "TASK", "NotReady"]
MINUTE_NS = 60_000_000_000

Key = tuple[str, str, str, int]  # feature, kind, service, minute (epoch minutes)
# [calls, errors, duration sum ns, duration max ns, {bucket index: count}, N+1 occurrences]
Entry = list[Any]


@dataclass(frozen=True)
class ErrorSample:
    feature: str
    kind: str
    service: str
    time_ns: int
    type: str
    message: str
    stacktrace: str
    trace_id: str
    span_id: str
    stack_span_id: str  # where the stack is, when this span holds only a reference


@dataclass
class Pending:
    """What a processor counted and has not written, taken out whole (``handover.py``)."""

    counts: dict[Key, Entry]
    errors: list[ErrorSample]
    groups: Any  # groups.GroupBatch (records stay below the modules that use them)
    edges: dict[Any, list[int]]  # edges.EdgeKey -> [calls, errors, retries]


Writer = Callable[[dict[Key, Entry], Sequence[ErrorSample]], object]
FeatureKey = tuple[str, str, str]  # feature, kind, service


class WriteIncomplete(Exception):
    """Raised by a writer that committed part of a batch and stopped: ``increments`` and
    ``errors`` are what it did not write (kept for the next flush, so nothing counts twice)."""

    def __init__(self, increments: dict[Key, Entry], errors: Sequence[ErrorSample]) -> None:
        super().__init__(f"{len(increments)} keys and {len(errors)} error samples left")
        self.increments = increments
        self.errors = list(errors)
