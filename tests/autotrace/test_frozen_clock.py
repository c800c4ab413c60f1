"""Auto-traced calls under freezegun's frozen clock: real durations, real start times.

freezegun replaces ``time.perf_counter`` and every module attribute bound to it (the
rewritten modules' clock included, were it ``time.perf_counter``): calls would last 0 s
and their spans start on the frozen date. Auto-tracing times with ``core.clock``.
"""

from __future__ import annotations

import time

import pytest

from django_tracekit.core import tracer as tracer_module
from django_tracekit.sources.autotrace import counters, runtime
from tests.autotrace.test_fastpath import Collect, collect, load, name

pytestmark = pytest.mark.requires("freezegun")

__all__ = ["collect"]  # the fixture, shared with test_fastpath


def test_a_slow_call_under_a_frozen_clock_keeps_its_real_duration_and_time(
        collect: Collect) -> None:
    from freezegun import freeze_time

    runtime.set_threshold(0.02)
    m = load()  # loaded before the freeze, as a project's modules are
    before = time.time_ns()
    with freeze_time("1970-01-02"), tracer_module.get_tracer().start_as_current_span("request"):
        m.outer(3, lambda: m.sleeper(0.03))
        m.leaves(5)
    after = time.time_ns()
    (slow,) = [s for s in collect.ended if s.name == name(m, "sleeper")]
    assert slow.start_time is not None and slow.end_time is not None
    assert before <= slow.start_time <= slow.end_time <= after
    assert slow.end_time - slow.start_time >= 30_000_000
    calls, total_ns, _ = counters.snapshot()[name(m, "sleeper")]
    assert calls == 1 and total_ns >= 30_000_000
    assert counters.snapshot()[name(m, "leaf")][0] == 5
