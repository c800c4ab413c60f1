"""The histogram's stated error bound holds for real quantiles of skewed data."""

from __future__ import annotations

import math
import random
from fractions import Fraction

from django_tracekit.core import histogram
from django_tracekit.core.histogram import (
    BUCKETS_PER_DOUBLING,
    GAMMA,
    MAX_INDEX,
    RELATIVE_ERROR,
    Merged,
    bucket_bounds_us,
    bucket_index,
    from_coarse,
    pack,
    quantiles,
    unpack,
)


def test_bucket_index_is_floor_of_eighteen_log2_microseconds() -> None:
    assert bucket_index(0) == 0
    assert bucket_index(999) == 0  # under 1 µs
    assert bucket_index(1_000) == 0  # 1 µs = 2**0
    assert bucket_index(2_000) == 18  # 2 µs = 2**(18/18)
    assert bucket_index(1_000_000) == math.floor(18 * math.log2(1000))  # 1 ms -> 179
    assert bucket_index(10**18) == MAX_INDEX  # clamped


def test_written_out_steps_are_the_powers_of_gamma() -> None:
    # The module writes 2 ** (k / 18) out (no libm in a worker): they must be exactly those.
    powers = tuple(2 ** (k / BUCKETS_PER_DOUBLING) for k in range(BUCKETS_PER_DOUBLING))
    assert powers == histogram._STEPS
    assert GAMMA == 2 ** (1 / BUCKETS_PER_DOUBLING)


def test_bucket_starts_where_eighteen_log2_reaches_its_index() -> None:
    # At each bucket's first nanosecond and the one before it, the index is what the
    # definition (GAMMA**i <= d_us) gives, checked with exact rationals on the powers.
    for i in range(1, MAX_INDEX + 1):
        low_us = Fraction(histogram._STEPS[i % 18]) * 2 ** (i // 18)
        first = histogram._LOWER_BOUNDS_NS[i]
        assert Fraction(first, 1000) >= low_us > Fraction(first - 1, 1000)
        assert bucket_index(first) == i
        assert bucket_index(first - 1) == i - 1
        if i < 600:  # below ~4.6 hours float log2 is exact enough to agree everywhere
            assert bucket_index(first) == math.floor(18 * math.log2(first / 1000))


def test_every_duration_falls_inside_its_bucket() -> None:
    rng = random.Random(1)
    for _ in range(10_000):
        ns = int(math.exp(rng.uniform(math.log(1_000), math.log(10**12))))
        low, high = bucket_bounds_us(bucket_index(ns))
        # float log2 may round at an exact boundary; allow one ulp-ish of slack
        assert low * (1 - 1e-9) <= ns / 1000 < high * (1 + 1e-9)


def test_quantile_relative_error_within_the_documented_bound() -> None:
    assert abs(RELATIVE_ERROR - 0.0193) < 0.0001
    rng = random.Random(7)
    for _ in range(20):
        # Log-normal latencies (a typical request mix), 5 µs .. minutes.
        values_ns = sorted(int(rng.lognormvariate(math.log(3e6), 1.5)) + 5_000
                           for _ in range(2_000))
        hist: dict[int, int] = {}
        for v in values_ns:
            hist[bucket_index(v)] = hist.get(bucket_index(v), 0) + 1
        estimates = quantiles(hist, (0.5, 0.95, 0.99), max_us=values_ns[-1] / 1000)
        for q, estimate in zip((0.5, 0.95, 0.99), estimates, strict=True):
            exact = values_ns[max(1, math.ceil(q * len(values_ns))) - 1] / 1000
            assert estimate is not None
            assert abs(estimate - exact) / exact <= RELATIVE_ERROR + 1e-9, (q, estimate, exact)


def test_empty_histogram_has_no_quantiles() -> None:
    assert quantiles({}, (0.5, 0.99)) == [None, None]


def test_pack_and_unpack_round_trip_and_refuse_garbage() -> None:
    hist = {0: 1, 179: 2**40, MAX_INDEX: 3}
    assert unpack(pack(hist)) == hist
    assert pack({}) == b"" and unpack(b"") == {}
    assert unpack(b"\x07garbage") == {}  # unreadable: empty, never a 500


def test_old_buckets_carried_over_keep_their_value() -> None:
    coarse_gamma = 2 ** 0.25
    for index in (0, 39, 80, 159):
        value_us = 2 * coarse_gamma ** (index + 1) / (coarse_gamma + 1)
        low, high = bucket_bounds_us(from_coarse(index))
        assert low * (1 - 1e-9) <= value_us < high * (1 + 1e-9)


def test_merged_packed_rows_give_the_quantiles_of_their_sum() -> None:
    rng = random.Random(7)
    parts = [{rng.randint(100, 500): rng.randint(1, 50) for _ in range(rng.randint(1, 30))}
             for _ in range(40)]
    total: dict[int, int] = {}
    merged = Merged()
    for part in parts:
        for index, n in part.items():
            total[index] = total.get(index, 0) + n
        assert merged.add_packed(pack(part))
    assert merged.sparse() == sorted(total.items())
    qs = (0.0, 0.01, 0.5, 0.95, 0.99, 1.0)
    assert merged.quantiles(qs) == quantiles(total, qs)
    assert merged.quantiles(qs, 2_000.0) == quantiles(total, qs, 2_000.0)


def test_merged_skips_empty_and_unreadable_rows() -> None:
    merged = Merged()
    assert merged.quantiles((0.5,)) == [None]
    good = pack({10: 3})
    for bad in (b"", None, b"\x01", b"\x02" + good[1:], good[:-1], good + b"\x00",
                pack({MAX_INDEX: 1})[:3] + b"\xff\xff" + b"\x00" * 8,  # index out of range
                b"\x01\xff\xff" + b"\x00" * 10):  # more buckets than exist
        assert not merged.add_packed(bad)
    assert merged.add_packed(memoryview(good))  # PostgreSQL's bytea may come as memoryview
    assert merged.sparse() == [(10, 3)]
