"""The keep rules, decided in each process when its local part of a trace ends.

- ``error``: a span of the part has ERROR status.
- ``sample``: the trace id's lower 64 bits are below ``rate * 2**64``: the same answer in
  every process, for every part of a trace, with no coordination (the lower 64 bits are
  the random part W3C trace ids guarantee; OpenTelemetry's ``TraceIdRatioBased`` reads
  them too).
- ``slow``: per feature (the local root's name), a part is slow when its root took longer
  than every earlier root of that feature in the current 10-minute window of this process
  *and* than the slowest of the previous window; at most :data:`SLOW_PER_WINDOW` per
  feature and window. Under steady traffic that is about one trace per feature every one
  or two windows (a new maximum beats the previous window's half of the time), and a
  feature seen for the first time (or after a quiet window) keeps its first trace.
"""

from __future__ import annotations

WINDOW_NS = 600 * 1_000_000_000
SLOW_PER_WINDOW = 3
MAX_FEATURES = 5_000  # tracked per process; new features beyond it are never "slow"
_BOUND = 2 ** 64
_LOW64 = _BOUND - 1


def sample_threshold(rate: float) -> int:
    """Trace ids whose lower 64 bits are below this are sampled."""
    return int(max(0.0, min(1.0, rate)) * _BOUND)


def sampled(trace_id: int, threshold: int) -> bool:
    return (trace_id & _LOW64) < threshold


class SlowRule:
    """The ``slow`` rule's state: per feature [window, max so far, previous window's max,
    kept in this window]. Not thread-safe: the processor calls it under its lock."""

    def __init__(self, max_features: int = MAX_FEATURES) -> None:
        self.max_features = max_features
        self._features: dict[str, list[int]] = {}

    def observe(self, feature: str, duration_ns: int, end_ns: int) -> bool:
        """Record one root of ``feature``; whether it is kept as slow."""
        window = end_ns // WINDOW_NS
        state = self._features.get(feature)
        if state is None:
            if len(self._features) >= self.max_features:
                self._forget_old(window)
                if len(self._features) >= self.max_features:
                    return False
            state = self._features[feature] = [window, -1, -1, 0]
        elif state[0] != window:
            if window < state[0]:  # a span ending in an earlier window (clock skew): ignore
                return False
            state[2] = state[1] if state[0] == window - 1 else -1
            state[0], state[1], state[3] = window, -1, 0
        slow = duration_ns > state[1] and duration_ns > state[2] and state[3] < SLOW_PER_WINDOW
        if duration_ns > state[1]:
            state[1] = duration_ns
        if slow:
            state[3] += 1
        return slow

    def _forget_old(self, window: int) -> None:
        # Features not seen in this or the previous window have nothing left to compare.
        self._features = {f: s for f, s in self._features.items() if s[0] >= window - 1}
