"""The users sketch: exact while small, <= 2 % error beyond, mergeable and idempotent, and
as accurate and compact as Apache DataSketches' HLL on the same data."""

from __future__ import annotations

import math
import random

import pytest

from django_tracekit.core import sketch
from django_tracekit.core.sketch import EXACT_MAX, Users, hash_user, loads


def _users(ids: range | list[str], prefix: str = "u") -> Users:
    users = Users()
    for i in ids:
        users.add(hash_user(f"{prefix}{i}"))
    return users


def _rms(errors: list[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def test_written_out_ln2_is_math_log_2() -> None:
    ln2 = math.log(2)
    assert ln2 == sketch._LN2


def test_exact_while_small_and_stored_as_the_hashes() -> None:
    for n in (0, 1, 57, EXACT_MAX):
        users = _users(range(n))
        users.add(hash_user("u0")) if n else None  # a returning user counts once
        assert users.estimate() == n
        data = users.dumps()
        assert len(data) == (1 + 4 * n if n else 0)
        assert loads(data).estimate() == n
    assert _users(range(EXACT_MAX + 1)).exact is None  # beyond: registers


@pytest.mark.parametrize("n", [2_000, 10_000, 60_000])
def test_error_at_most_2_percent(n: int) -> None:
    errors = [_users(range(n), f"set{k}-").estimate() / n - 1 for k in range(6)]
    assert _rms(errors) <= 0.02, errors
    assert max(abs(e) for e in errors) <= 0.04, errors


def test_merging_is_a_union_and_idempotent() -> None:
    a, b = _users(range(0, 6_000)), _users(range(4_000, 10_000))
    stored_a, stored_b = a.dumps(), b.dumps()
    union = sketch.merge([stored_a, stored_b])
    assert abs(union.estimate() / 10_000 - 1) <= 0.03
    # Merging the same sketch again (a retried flush) changes nothing.
    assert sketch.merge([stored_a, stored_b, stored_a, union.dumps()]).dumps() == union.dumps()
    # Order does not matter, and small sketches merge into big ones exactly.
    assert sketch.merge([stored_b, stored_a]).dumps() == union.dumps()
    small = _users(range(3))
    assert sketch.merge([small.dumps(), _users(range(3, 6)).dumps()]).estimate() == 6


@pytest.mark.parametrize("sizes", [(3, 5), (300, 300, 300), (5_000, 10), (5_000, 20_000)])
def test_the_pages_fast_union_equals_merging(sizes: tuple[int, ...]) -> None:
    stored = [_users(range(i * 100, i * 100 + n)).dumps() for i, n in enumerate(sizes)]
    union = sketch.Union()
    for data in [*stored, b"\x02junk", b""]:
        union.add(data)
    distinct = len({i for k, n in enumerate(sizes) for i in range(k * 100, k * 100 + n)})
    if all(n <= EXACT_MAX for n in sizes):
        assert union.estimate() == distinct  # exact buckets: an exact union, even beyond
    else:
        assert union.estimate() == sketch.merge(stored).estimate()


def test_register_max_matches_a_plain_loop() -> None:
    rng = random.Random(7)
    a = bytes(rng.randrange(0, sketch.Q + 2) for _ in range(sketch.M))
    b = bytes(rng.randrange(0, sketch.Q + 2) for _ in range(sketch.M))
    assert sketch._max_bytes(a, b) == bytes(map(max, a, b))


@pytest.mark.parametrize("data", [b"\x01abc", b"\x02not zlib", b"\x09", b"\x02" + b"x" * 10])
def test_unreadable_bytes_are_refused_and_skipped_when_merging(data: bytes) -> None:
    with pytest.raises(ValueError):
        loads(data)
    assert sketch.count([data, _users(range(5)).dumps()]) == 5


@pytest.mark.requires("datasketches")
def test_as_accurate_and_compact_as_datasketches_hll() -> None:
    """The same use on both sides: four processes' sketches of a bucket, merged."""
    import datasketches

    mine_errors, their_errors, mine_bytes, their_bytes = [], [], [], []
    for k in range(12):
        ids = [f"ds{k}-{i}" for i in range(20_000)]
        union = datasketches.hll_union(sketch.P)
        parts = []
        for part in range(4):
            theirs = datasketches.hll_sketch(sketch.P, datasketches.tgt_hll_type.HLL_4)
            mine = Users()
            for user in ids[part::4]:
                theirs.update(user)
                mine.add(hash_user(user))
            union.update(theirs)
            parts.append(mine.dumps())
        merged = sketch.merge(parts)
        result = union.get_result(datasketches.tgt_hll_type.HLL_4)
        mine_errors.append(merged.estimate() / len(ids) - 1)
        their_errors.append(result.get_estimate() / len(ids) - 1)
        mine_bytes.append(len(merged.dumps()))
        their_bytes.append(len(result.serialize_compact()))
    # Same number of registers: the same accuracy (within sampling noise), fewer bytes.
    assert _rms(mine_errors) <= 1.5 * _rms(their_errors) + 0.002, (mine_errors, their_errors)
    assert _rms(mine_errors) <= 0.02
    assert max(mine_bytes) <= min(their_bytes), (mine_bytes, their_bytes)
