"""Where a test run's kept traces go (no database: see :mod:`django_tracekit.core.testrun`):
bounded, in memory, readable by tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from django_tracekit.destinations.traces.keep import SLOW_MARK, WINDOW_US, mark_slow, slowest
from django_tracekit.destinations.traces.records import Part, join_reasons


class MemoryTraces:
    """A writer keeping at most ``max_traces`` traces (the newest), merged per trace id."""

    def __init__(self, max_traces: int = 1_000) -> None:
        self.max_traces = max_traces
        self._lock = threading.Lock()
        self._traces: dict[str, Part] = {}

    def kept(self, trace_ids: list[str]) -> set[str]:
        with self._lock:
            return {t for t in trace_ids if t in self._traces}

    def write(self, parts: list[Part], max_spans_per_trace: int) -> int:
        written = 0
        with self._lock:
            for part in parts:
                into = self._traces.get(part.trace_id)
                if into is None:
                    if not part.reasons:  # joining a trace no longer here
                        continue
                    into = self._traces[part.trace_id] = Part(part.trace_id, part.reasons)
                seen = {s.span_id for s in into.spans}
                room = max(0, max_spans_per_trace - len(into.spans))
                new = [s for s in part.spans if s.span_id not in seen]
                into.spans.extend(new[:room])
                into.dropped += part.dropped + max(0, len(new) - room)
                into.reasons = join_reasons(into.reasons, part.reasons)
                into.root_name = part.root_name or into.root_name
                into.local_root_name = into.local_root_name or part.local_root_name
                into.user_id = into.user_id or part.user_id
                written += min(room, len(new))
            self._rank({(s.name, s.start_us - s.start_us % WINDOW_US) for p in parts
                        if "slow" in p.reasons for s in p.spans if SLOW_MARK in s.attributes})
            while len(self._traces) > self.max_traces:
                del self._traces[next(iter(self._traces))]
        return written

    def trim(self, max_traces: int) -> int:
        return 0

    def settle_slow(self, demoted: list[str], windows: list[tuple[str, int]],
                    promoted: Sequence[tuple[str, str]] = ()) -> None:
        """As the database's (:mod:`.slow`), without the stats' count nor keeping
        unreasoned traces."""
        with self._lock:
            keys = set(windows)
            for trace_id, span_id in promoted:
                part = self._traces.get(trace_id)
                if part is None:
                    continue
                part.spans = mark_slow(part.spans, span_id)
                part.reasons = join_reasons(part.reasons, "slow")
                keys.update((s.name, s.start_us - s.start_us % WINDOW_US)
                            for s in part.spans if s.span_id == span_id)
            self._demote(demoted)
            self._rank(keys)

    def _rank(self, keys: set[tuple[str, int]] | list[tuple[str, int]]) -> None:
        for name, start in keys:
            found: dict[str, int] = {}
            for trace_id, part in self._traces.items():
                if "slow" not in part.reasons:
                    continue
                for s in part.spans:
                    if (s.name == name and start <= s.start_us < start + WINDOW_US
                            and SLOW_MARK in s.attributes):
                        found[trace_id] = max(found.get(trace_id, 0), s.duration_us)
            self._demote(slowest(found))

    def _demote(self, trace_ids: list[str]) -> None:
        for trace_id in trace_ids:
            part = self._traces.get(trace_id)
            if part is not None and "slow" in part.reasons:
                part.reasons = join_reasons(*(r for r in part.reasons.split(",") if r != "slow"))
                if not part.reasons:
                    del self._traces[trace_id]

    def traces(self) -> dict[str, Part]:
        """A copy of what was kept, by trace id."""
        with self._lock:
            return {t: Part(p.trace_id, p.reasons, list(p.spans), p.dropped, p.root_name,
                            p.local_root_name, p.user_id) for t, p in self._traces.items()}

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()


memory_traces = MemoryTraces()
