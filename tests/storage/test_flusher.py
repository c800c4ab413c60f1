"""The process's one flusher thread (storage/flusher.py) and its use by the local
destinations (storage/flushing.py): one thread for the stats and the trace store, each on
its own interval, a request flushing all, the thread ending when the last one leaves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from opentelemetry.sdk.trace import TracerProvider

from django_tracekit.destinations.stats.processor import StatsProcessor
from django_tracekit.destinations.traces.memory import MemoryTraces
from django_tracekit.destinations.traces.processor import TraceStoreProcessor
from django_tracekit.storage import flushing
from django_tracekit.storage.flusher import Flusher


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[str] = set()

    def __call__(self) -> None:
        self.calls += 1
        self.threads.add(threading.current_thread().name)


def test_each_job_keeps_its_own_interval_and_a_request_flushes_all() -> None:
    fast, slow = Counter(), Counter()
    flusher = Flusher("tracekit-flush-test")
    try:
        assert flusher.add("fast", fast, 0.02, lambda: True)
        assert flusher.add("slow", slow, 3600, lambda: True)
        assert wait_for(lambda: fast.calls >= 3)
        assert slow.calls == 0  # not due: an hour
        assert flusher.request().wait(10)
        assert slow.calls == 1 and fast.threads == slow.threads == {"tracekit-flush-test"}
    finally:
        flusher.remove("fast")
        flusher.remove("slow")
    flusher.thread.join(10)
    assert not flusher.alive


def test_the_thread_ends_when_the_last_job_leaves_and_takes_no_new_one() -> None:
    first, second = Counter(), Counter()
    flusher = Flusher("tracekit-flush-test")
    flusher.add("first", first, 3600, lambda: True)
    flusher.add("second", second, 3600, lambda: True)
    assert flusher.remove("first") is False  # "second" still served
    assert flusher.request().wait(10) and (first.calls, second.calls) == (0, 1)
    assert flusher.alive
    assert flusher.remove("second") is True
    flusher.thread.join(10)
    assert not flusher.alive
    assert flusher.add("third", Counter(), 1, lambda: True) is False  # ended: make a new one


def test_a_job_that_raises_does_not_stop_the_others() -> None:
    ok = Counter()

    def broken() -> None:
        raise RuntimeError("boom")

    flusher = Flusher("tracekit-flush-test")
    flusher.add("broken", broken, 3600, lambda: True)
    flusher.add("ok", ok, 3600, lambda: True)
    assert flusher.request().wait(10) and ok.calls == 1 and flusher.alive
    flusher.remove("broken")
    flusher.remove("ok")
    flusher.thread.join(10)
    assert not flusher.alive


def test_the_thread_ends_when_every_job_says_stop_and_skips_one_that_says_so() -> None:
    running, paused = Counter(), Counter()
    keep = {"running": True}
    flusher = Flusher("tracekit-flush-test")
    flusher.add("running", running, 3600, lambda: keep["running"])
    flusher.add("paused", paused, 3600, lambda: False)
    assert flusher.request().wait(10) and (running.calls, paused.calls) == (1, 0)
    keep["running"] = False
    assert flusher.request().wait(10)  # answered, though nothing is flushed
    flusher.thread.join(10)
    assert not flusher.alive and running.calls == 1


def test_stats_and_trace_store_share_one_thread_each_on_its_interval() -> None:
    totals: list[int] = []
    stats = StatsProcessor(lambda increments, errors: totals.append(len(increments)) or 0,
                           flush_interval_s=0.05)
    store = MemoryTraces()
    traces = TraceStoreProcessor(store, flush_interval_s=3600, sample_rate=1.0, buffer_s=0.0)
    try:
        assert stats.thread is not None and stats.thread is traces.thread
        assert stats.thread.name == flushing.FLUSHER_THREAD
        assert [t for t in threading.enumerate() if t.name == flushing.FLUSHER_THREAD] \
            == [stats.thread]
        provider = TracerProvider()
        provider.add_span_processor(stats)
        provider.add_span_processor(traces)
        provider.get_tracer("django_tracekit").start_span("bg").end()
        assert wait_for(lambda: sum(totals) == 1)  # the stats' interval, not the store's
        assert len(store.traces()) == 0
        assert traces.exit_flush().wait(10)  # a request flushes the store too
        assert len(store.traces()) == 1
        thread = stats.thread
        stats.shutdown()
        assert thread.is_alive()  # still the store's
    finally:
        stats.shutdown()
        traces.shutdown()
    assert not thread.is_alive()
