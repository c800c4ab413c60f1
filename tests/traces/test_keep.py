"""The keep rules on their own: the deterministic sample and the slow rule's windows."""

from __future__ import annotations

import random

from django_tracekit.traces import keep

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


def test_slow_keeps_new_maxima_above_the_previous_windows_slowest() -> None:
    rule = keep.SlowRule()
    t = 10 * WINDOW
    # A first window: the first root and every new maximum, at most SLOW_PER_WINDOW.
    kept = [rule.observe("GET /a/", d * S, t + i) for i, d in enumerate([5, 3, 7, 6, 9, 11, 12])]
    assert kept == [True, False, True, False, True, False, False]
    # The next window must beat 12 s (the previous window's slowest) to keep anything.
    t += WINDOW
    kept = [rule.observe("GET /a/", d * S, t + i) for i, d in enumerate([4, 10, 13, 12, 14])]
    assert kept == [False, False, True, False, True]
    # Features are independent.
    assert rule.observe("GET /b/", 1, t)


def test_slow_after_a_quiet_window_starts_over() -> None:
    rule = keep.SlowRule()
    assert rule.observe("f", 50 * S, 3 * WINDOW)
    assert rule.observe("f", 1 * S, 5 * WINDOW)  # window 4 saw nothing: no threshold


def test_slow_keeps_about_one_per_window_under_steady_traffic() -> None:
    rng = random.Random(3)
    rule = keep.SlowRule()
    windows = 200
    kept = sum(rule.observe("GET /orders/", int(rng.expovariate(1.0) * S), w * WINDOW + i)
               for w in range(windows) for i in range(500))
    assert windows * 0.4 < kept < windows * 1.5, kept


def test_slow_tracks_a_bounded_number_of_features() -> None:
    rule = keep.SlowRule(max_features=10)
    assert all(rule.observe(f"f{i}", S, WINDOW) for i in range(10))
    assert not rule.observe("f-new", S, WINDOW)  # beyond the bound: never slow
    # Two windows later the old features are forgotten and new ones are tracked again.
    assert rule.observe("f-new", S, 3 * WINDOW)
