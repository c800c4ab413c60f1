"""An unreachable or hanging Sentry costs a request nothing measurable: the SDK's transport
sends from a background thread. Numbers are printed (run with -s); asserted only loosely."""

from __future__ import annotations

import statistics
import time

import pytest

pytestmark = pytest.mark.requires("sentry_sdk", "opentelemetry.exporter.otlp")

REQUESTS = 15
SLOW_S = 5.0  # the slow endpoint answers after this long (tests/sentry/conftest.py)


def latencies(server) -> list[float]:  # type: ignore[no-untyped-def]
    for _ in range(2):  # warm-up: imports, first connection
        server.request("/boom/")
    times = []
    for _ in range(REQUESTS):
        reply = server.request("/boom/")
        assert reply.status == 500
        times.append(reply.elapsed_s)
    return times


def test_dead_or_slow_sentry_does_not_slow_requests(deploy):
    baseline = latencies(deploy("no_sentry").server)
    fast = latencies(deploy("tracekit").server)  # a healthy local Sentry
    dead = deploy("dead")
    dead_times = latencies(dead.server)
    slow = deploy("slow")
    slow_times = latencies(slow.server)
    runs = (("no sentry", baseline), ("fast", fast), ("dead", dead_times), ("slow", slow_times))
    for name, times in runs:
        print(f"\n{name:>9}: median {statistics.median(times) * 1000:.1f} ms, "
              f"max {max(times) * 1000:.1f} ms over {len(times)} failing requests")
    # Forwarding was really on in both (else these numbers prove nothing).
    assert "Sentry forwarding is on" in dead.server.log()
    assert "Sentry forwarding is on" in slow.server.log()
    deadline = time.monotonic() + 5
    while slow.sentry.hits == 0:  # the slow endpoint was contacted and is sleeping
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # 17 errors against a 5 s endpoint would take > 80 s if sending blocked the request.
    assert max(dead_times) < 1.0
    assert max(slow_times) < 1.0
    assert sum(slow_times) < SLOW_S
