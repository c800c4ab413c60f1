"""The audit's traffic and its truth: what each release serves (latency distributions the
harness chooses, error rates, users, N+1, tasks), and the true numbers computed from what
the server measured for every request."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from tests.audit.harness import Hit

VERSIONS = ("1.0", "2.0")
USERS = 50  # 0..29 use release 1.0, 20..49 release 2.0: 30 each, 50 in all
COMMAND_RUNS = 3
N_PLUS_ONE_PER_CATALOG = 2  # two statements run 6 times each (DB N_PLUS_ONE = 5)
WINDOW_US = 600 * 1_000_000  # the trace store's slow window (10 minutes)
SLOW_PER_WINDOW = 3
SLOW_EXACT_MIN_ROOTS = 21  # docs/trace_store.md: exact top 3 when each process saw >= 21
#: Tasks sent per release: (ok, flaky: 2 retries then success, doomed: 3 failed attempts).
TASKS = {"1.0": {"ok": 10, "flaky": 3, "doomed": 2}, "2.0": {"ok": 10, "flaky": 2, "doomed": 3}}
TASK_FEATURE = "tests/audit/project/tasks/"


def plan(version: str, seed: int) -> list[tuple[str, str, int | None]]:
    """(path, feature, user) of one release's requests, shuffled."""
    rng = random.Random(seed)
    steps: list[tuple[str, str, int | None]] = []
    const_ms = 30.0 if version == "1.0" else 15.0  # a true p95 change of -50 %
    steps += [(f"/const/?ms={const_ms}", "GET /const/", None)] * 120
    for _ in range(200):  # lognormal, median 12 ms, sigma 0.6, capped at 150 ms
        steps.append((f"/lognorm/?ms={min(150.0, rng.lognormvariate(math.log(12), 0.6)):.3f}",
                      "GET /lognorm/", None))
    for _ in range(200):  # bimodal: 85 % at 3 ms, 15 % at 60 ms
        steps.append((f"/bimodal/?ms={60.0 if rng.random() < 0.15 else 3.0}",
                      "GET /bimodal/", None))
    every = 20 if version == "1.0" else 4  # 5 % then 25 % of payments fail
    steps += [("/pay/?fail=1" if i % every == 0 else "/pay/", "GET /pay/", None)
              for i in range(100)]
    first = 0 if version == "1.0" else 20
    steps += [("/me/", "GET /me/", first + i % 30) for i in range(60)]
    steps += [("/catalog/", "GET /catalog/", None)] * 30
    rng.shuffle(steps)
    return steps


def task_steps(version: str) -> list[tuple[str, str, int | None]]:
    return [(f"/enqueue/{name}/", "GET /enqueue/<str:name>/", None)
            for name, n in TASKS[version].items() for _ in range(n)]


@dataclass
class Truth:
    hits: list[Hit]

    def of(self, route: str, version: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.route == route and version in (None, h.version)]

    def calls(self, route: str, version: str | None = None) -> int:
        return len(self.of(route, version))

    def errors(self, route: str, version: str | None = None) -> int:
        return sum(h.status >= 500 for h in self.of(route, version))

    def users(self, route: str, version: str | None = None) -> int:
        return len({h.user for h in self.of(route, version) if h.user is not None})

    def durations_ms(self, route: str, version: str | None = None) -> list[float]:
        return sorted(h.server_us / 1000 for h in self.of(route, version))

    def failing_traces(self, route: str) -> set[str]:
        return {h.trace_id for h in self.of(route) if h.status >= 500}

    def slow_truth(self, route: str) -> dict[int, tuple[list[str], bool, float]]:
        """Per window: the true 3 slowest trace ids, whether the rule is exact there (every
        process saw >= 21 roots), and the window's p90 (nearest rank) in ms."""
        by_window: dict[int, list[Hit]] = defaultdict(list)
        for h in self.of(route):
            by_window[h.start_us - h.start_us % WINDOW_US].append(h)
        result = {}
        for window, hits in by_window.items():
            ranked = sorted(hits, key=lambda h: -h.server_us)
            per_pid = Counter(h.pid for h in hits)
            durations = sorted(h.server_us / 1000 for h in hits)
            p90 = durations[math.ceil(0.9 * len(durations)) - 1]
            result[window] = ([h.trace_id for h in ranked[:SLOW_PER_WINDOW]],
                              min(per_pid.values()) >= SLOW_EXACT_MIN_ROOTS, p90)
        return result


def quantile_bounds(values: list[float], q: float) -> tuple[float, float]:
    """The true q-quantile's range: the order statistics on either side of rank q·n
    (definitions differ by interpolation between them)."""
    n = len(values)
    lo = values[max(0, math.ceil(q * n) - 1)]
    hi = values[min(n - 1, math.floor(q * n))]
    return min(lo, hi), max(lo, hi)
