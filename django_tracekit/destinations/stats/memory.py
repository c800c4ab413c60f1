"""Where a test run's counts go (no database: see :mod:`django_tracekit.core.testrun`), and
the arithmetic of the processor's entries (one per (feature, kind, service, minute))."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from django_tracekit.core.sketch import Users
from django_tracekit.destinations.stats.records import (
    OTHER_FEATURE,
    Entry,
    ErrorSample,
    FeatureKey,
    Key,
    Writer,
)


def new_entry(version: str = "") -> Entry:
    """[calls, errors, duration sum ns, max ns, {histogram bucket: n}, N+1 occurrences,
    distinct users (a :class:`~django_tracekit.core.sketch.Users`, or None: none
    seen),
    service.version (one per process: its resource's), task attempts that retried, failed
    task attempts, tasks that needed a retry]."""
    return [0, 0, 0, 0, {}, 0, None, version, 0, 0, 0]


def merge_entry(into: Entry, other: Entry) -> None:
    into[0] += other[0]
    into[1] += other[1]
    into[2] += other[2]
    if other[3] > into[3]:
        into[3] = other[3]
    hist = into[4]
    for index, n in other[4].items():
        hist[index] = hist.get(index, 0) + n
    if len(other) > 5:
        into[5] += other[5]
        users = other[6] if len(other) > 6 else None
        if users is not None:
            if into[6] is None:
                into[6] = Users()
            into[6].update(users)
        if len(other) > 7 and not into[7]:
            into[7] = other[7]
        if len(other) > 10:
            into[8] += other[8]
            into[9] += other[9]
            into[10] += other[10]


class MemoryCounts:
    """A writer that adds to totals in memory, per (feature, kind, service): where a test
    run's counts go. Bounded: beyond ``max_features`` new features go to ``(other)``, and
    only the newest ``max_errors`` error samples are kept."""

    def __init__(self, max_features: int = 50_000, max_errors: int = 1_000) -> None:
        self.max_features = max_features
        self.max_errors = max_errors
        self._lock = threading.Lock()
        self._totals: dict[FeatureKey, Entry] = {}
        self._errors: list[ErrorSample] = []
        # Also given every batch (django_tracekit.testing's open captures); replaced, not mutated.
        self.listeners: tuple[Writer, ...] = ()

    def __call__(self, increments: dict[Key, Entry], errors: Sequence[ErrorSample]) -> int:
        for listener in self.listeners:
            listener(increments, errors)
        with self._lock:
            totals = self._totals
            for (feature, kind, service, _minute), entry in increments.items():
                key = (feature, kind, service)
                if key not in totals and len(totals) >= self.max_features:
                    key = (OTHER_FEATURE, kind, service)
                into = totals.get(key)
                if into is None:
                    into = totals[key] = new_entry()
                merge_entry(into, entry)
            self._errors.extend(errors)
            del self._errors[:-self.max_errors]
        return len(increments)

    def snapshot(self) -> tuple[dict[FeatureKey, Entry], list[ErrorSample]]:
        """A copy of the totals and the kept error samples (oldest first)."""
        with self._lock:
            totals = {k: [e[0], e[1], e[2], e[3], dict(e[4]), e[5],
                          e[6].estimate() if e[6] is not None else 0, e[8], e[9], e[10]]
                      for k, e in self._totals.items()}
            return totals, list(self._errors)

    def clear(self) -> None:
        with self._lock:
            self._totals.clear()
            self._errors.clear()


memory_counts = MemoryCounts()
