"""The keep rules on their own: the deterministic sample and the slow rule's windows."""

from __future__ import annotations

import random

from django_tracekit.destinations.traces import keep

S = 1_000_000_000
WINDOW = keep.WINDOW_NS


def test_sample_reads_the_lower_64_bits_of_the_trace_id() -> None:
    threshold = keep.sample_threshold(0.25)
    assert keep.sampled(0xFFFF_0000_0000_0000_0000_0000_0000_0001, threshold)
    assert not keep.sampled(0x0000_0000_0000_0000_F000_0000_0000_0000, threshold)
    assert keep.sample_threshold(0.0) == 0 and not keep.sampled(0, 0)
    assert keep.sampled(2 ** 128 - 1, keep.sample_threshold(1.0))


def test_sample_rate_is_the_share_of_random_trace_ids_kept() -> None:
    rng = random.Random(7)
    threshold = keep.sample_threshold(0.1)
    hits = sum(keep.sampled(rng.getrandbits(128), threshold) for _ in range(20_000))
    assert 1_700 < hits < 2_300


def test_p90_rank_bound_is_nearest_rank() -> None:
    assert [keep.at_or_above_p90(n) for n in (0, 1, 2, 9, 10, 11, 20, 21, 100)] == [
        0, 1, 1, 1, 2, 2, 3, 3, 11]


def test_slow_holds_the_k_slowest_and_decides_at_the_window_end() -> None:
    rule = keep.SlowRule()
    t = 10 * WINDOW
    durations = [5, 3, 7, 6, 9, 11, 12, 1]
    candidates = [rule.observe("GET /a/", i, d * S, t + i) for i, d in enumerate(durations)]
    # A candidate while among this process's 3 slowest so far.
    assert candidates == [True, True, True, True, True, True, True, False]
    # Too few roots seen (< MIN_SEEN) in a window still running: nothing decided yet.
    done = rule.settle(t + 1)
    assert done.keep == [] and sorted(done.release) == [0, 1, 2, 3]  # pushed out
    # The window ended: 8 roots, only the slowest is at or above their p90.
    done = rule.settle(t + WINDOW)
    assert done.keep == [6] and sorted(done.release) == [4, 5]
    assert done.closed == [("GET /a/", 10 * keep.WINDOW_US)]


def test_slow_writes_during_the_window_once_enough_roots_were_seen() -> None:
    rule = keep.SlowRule()
    t = 10 * WINDOW
    for i in range(keep.MIN_SEEN):
        rule.observe("f", i, (i + 1) * S, t + i)
    done = rule.settle(t + 1)
    top = [keep.MIN_SEEN - 1, keep.MIN_SEEN - 2, keep.MIN_SEEN - 3]
    assert done.keep == top  # 50 roots: the 3 slowest are above the p90
    # A slower root pushes a written one out of this process's 3 slowest: it loses "slow".
    rule.observe("f", 999, 10_000 * S, t + 60)
    done = rule.settle(t + 2)
    assert done.keep == [999] and done.demote == [top[-1]]


def test_slow_tracks_a_bounded_number_of_features() -> None:
    rule = keep.SlowRule(max_features=10)
    assert all(rule.observe(f"f{i}", i, S, WINDOW) for i in range(10))
    assert not rule.observe("f-new", 11, S, WINDOW)  # beyond the bound: never slow
    rule.settle(3 * WINDOW)  # the windows ended: their features are forgotten
    assert rule.observe("f-new", 12, S, 3 * WINDOW)
