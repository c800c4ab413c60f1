"""Producer → task edges, counted exactly: which entry point enqueued which task, with the
task's outcome (the feature page's "tasks it enqueued" and "who enqueues it").

The Celery publish side puts the running entry point on the message
(:mod:`django_tracekit.core.producers`); the worker copies it onto the task's span; the stats
processor hands every task span carrying it to :meth:`EdgeCounts.add`. Counted per
(producer feature, task feature, minute) in memory, written with the processor's flush at
hour and day resolution (``TaskEdge``): rows ∝ edges, never ∝ tasks.

What counts: an attempt that ends in a retry (``celery.retry.reason`` on its span) is a
*retry*; any other end is the task's outcome: one *call*, and an *error* when the span is
an error. So ``upload → transcode`` reads "136 tasks, 13.6 % failed, 40 retries" however
many attempts each took. Tasks sent outside any traced entry point (beat, a shell) have no
producer and no edge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from django_tracekit.core import producers

logger = logging.getLogger("django_tracekit")

MINUTE_NS = 60 * 10**9
MAX_KEYS = 2_000  # per flush window; beyond, new edges are dropped (and counted)
RETRY_REASON = "celery.retry.reason"

#: (producer kind, producer service, producer feature, task feature, task service, minute)
EdgeKey = tuple[str, str, str, str, str, int]


class EdgeCounts:
    """One processor's edges since its last flush (and a bounded backlog when writing
    failed)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._acc: dict[EdgeKey, list[int]] = {}
        self._backlog: dict[EdgeKey, list[int]] = {}
        self.dropped = 0
        self._failing = False

    def add(self, attributes: Mapping[str, Any], task: str, service: str, end_ns: int,
            is_error: bool) -> None:
        producer = producers.from_attributes(attributes)
        if producer is None:
            return
        key = (*producer, task, service, end_ns // MINUTE_NS)
        retry = RETRY_REASON in attributes
        with self._lock:
            entry = self._acc.get(key)
            if entry is None:
                if len(self._acc) >= MAX_KEYS:
                    self.dropped += 1
                    return
                entry = self._acc[key] = [0, 0, 0]
            if retry:
                entry[2] += 1
            else:
                entry[0] += 1
                if is_error:
                    entry[1] += 1

    def take(self) -> dict[EdgeKey, list[int]]:
        """Everything counted and not written, taken out (``handover.py``)."""
        with self._lock:
            acc, self._acc = self._acc, {}
        taken, self._backlog = self._backlog, {}
        self.add_counts(acc, into=taken)
        return taken

    def add_counts(self, increments: dict[EdgeKey, list[int]],
                   into: dict[EdgeKey, list[int]] | None = None) -> None:
        """Add ``increments`` (another process's, taken out) to what this one writes next."""
        with self._lock:
            target = self._acc if into is None else into
            for key, entry in increments.items():
                kept = target.setdefault(key, [0, 0, 0])
                for i in range(3):
                    kept[i] += entry[i]

    def flush(self, *, memory: bool) -> bool:
        """Write what is pending (to :data:`memory_edges` in a test run)."""
        with self._lock:
            acc, self._acc = self._acc, {}
        backlog = self._backlog
        for key, entry in acc.items():
            into = backlog.setdefault(key, [0, 0, 0])
            for i in range(3):
                into[i] += entry[i]
        if not backlog:
            return True
        try:
            if memory:
                memory_edges.add(backlog)
            else:
                write(backlog)
        except Exception as exc:
            excess = len(backlog) - 10 * MAX_KEYS
            for key in sorted(backlog, key=lambda k: k[5])[:max(0, excess)]:
                self.dropped += backlog.pop(key)[0]
            if not self._failing:
                self._failing = True
                logger.debug("tracekit: writing task edges failed: %s", exc, exc_info=exc)
            return False
        self._backlog = {}
        self._failing = False
        return True


class MemoryEdges:
    """Where a test run's edges go: totals per (producer, task) key without the minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals: dict[tuple[str, ...], list[int]] = {}

    def add(self, increments: Mapping[EdgeKey, list[int]]) -> None:
        with self._lock:
            for key, entry in increments.items():
                into = self.totals.setdefault(key[:5], [0, 0, 0])
                for i in range(3):
                    into[i] += entry[i]

    def clear(self) -> None:
        with self._lock:
            self.totals.clear()


memory_edges = MemoryEdges()


def write(increments: Mapping[EdgeKey, list[int]], *, using: str | None = None) -> int:
    """Add the edges to ``TaskEdge`` (hour and day rows); returns the rows written."""
    from django.db import connections, router

    from django_tracekit.destinations.stats.feature_ids import clip, ids_for
    from django_tracekit.storage.usage_models import EDGE_RESOLUTIONS, TaskEdge
    from django_tracekit.storage.writer import orm_add, upsert, upsert_vendor

    alias = using or router.db_for_write(TaskEdge)
    connection = connections[alias]
    keys = set()
    for kind, pservice, producer, task, service, _minute in increments:
        keys.add(clip(producer, kind, pservice))
        keys.add(clip(task, "task", service))
    ids = ids_for(alias, keys)
    rows: dict[tuple[int, int, int, int], list[int]] = {}
    for (kind, pservice, producer, task, service, minute), entry in increments.items():
        producer_id = ids[clip(producer, kind, pservice)]
        task_id = ids[clip(task, "task", service)]
        start = minute * 60
        for resolution in EDGE_RESOLUTIONS:
            row = rows.setdefault((producer_id, task_id, resolution,
                                   start - start % resolution), [0, 0, 0])
            for i in range(3):
                row[i] += entry[i]
    values = [(*key, *v) for key, v in sorted(rows.items())]
    vendor = upsert_vendor(connection)
    columns = ("producer_id", "task_id", "resolution", "bucket_start")
    if vendor == "orm":
        orm_add(alias, TaskEdge, columns, ("calls", "errors", "retries"), (), values)
    else:
        upsert(connection, vendor, TaskEdge._meta.db_table, columns,
               ("calls", "errors", "retries"), (), values)
    return len(values)
