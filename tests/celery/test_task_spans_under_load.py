"""One span per task attempt, under load (issue 21, item 10 b): a prefork worker on Redis,
retrying and failing tasks, while a CPU burner loads the machine."""

from __future__ import annotations

import collections
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.celery.helpers import KIND_CONSUMER, Stack, in_trace, task_span_name
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

pytestmark = [pytest.mark.requires("celery", "opentelemetry.exporter.otlp"),
              pytest.mark.service("redis")]

ROUNDS = 15
# Task -> consumer spans each of its traces must hold: one per attempt (``quits`` raises
# SystemExit: the main process reports its job lost, issue 21 item 10 b).
EXPECTED = {"flaky": 3, "always_fails": 3, "charge": 1, "quits": 1}


def _burn() -> None:
    while True:
        pass


@pytest.fixture
def burners() -> Iterator[None]:
    """One busy process per core: the worker's children compete for the CPU."""
    started = [multiprocessing.Process(target=_burn, daemon=True)
               for _ in range(os.cpu_count() or 2)]
    for process in started:
        process.start()
    try:
        yield
    finally:
        for process in started:
            process.kill()
            process.join()


def _describe(spans: list[ReceivedSpan]) -> list[tuple[object, ...]]:
    return sorted((s.start_ns, s.name, s.span_id, s.parent_span_id, s.kind,
                   s.attributes.get("celery.state"), s.attributes.get("celery.retries"),
                   s.resource.get("process.pid")) for s in spans)


def test_one_consumer_span_per_attempt_under_load(tmp_path: Path, burners: None) -> None:
    with OtlpHttpReceiver() as receiver:
        # Each child runs one task and exits, as in the probe: exits race with results.
        stack = Stack("redis", receiver, tmp_path, worker_args=("--max-tasks-per-child=1",))
        try:
            sent = [(task, stack.get(f"/run/{task}/"))
                    for _ in range(ROUNDS) for task in EXPECTED]

            def complete(spans: list[ReceivedSpan]) -> bool:
                by_trace = collections.Counter(
                    (s.trace_id, s.name) for s in spans if s.kind == KIND_CONSUMER)
                return all(by_trace[(reply["trace_id"], task_span_name(task))]
                           >= EXPECTED[task] for task, reply in sent)

            receiver.wait_for(complete, timeout=180)
            stack.stop()  # every span flushed: nothing arrives after the check
            problems = []
            for task, reply in sent:
                mine = in_trace(receiver.spans, reply["trace_id"])
                consumers = [s for s in mine if s.name == task_span_name(task)]
                ids = [s.span_id for s in consumers]
                if len(consumers) != EXPECTED[task] or len(set(ids)) != len(ids):
                    problems.append((task, _describe(mine)))
            assert not problems, "\n".join(f"{t}: {d}" for t, d in problems)
        finally:
            stack.stop()
