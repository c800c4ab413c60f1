"""Distinct users: tracekit's sketch against Apache DataSketches' HLL on the same data.

Accuracy (relative error of the count) and stored bytes, both used the way tracekit uses
a sketch: each bucket's users arrive from several processes (here 4) whose sketches are
merged; DataSketches at the same number of registers (lg_k = 13, HLL_4, its most compact
type) through its ``hll_union``. Then the per-operation costs on tracekit's paths.

Run: .venv/bin/python benchmarks/bench_users.py   (needs ``pip install datasketches``)
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import per_call_seconds

from django_tracekit.core import sketch
from django_tracekit.core.sketch import Users, hash_user

PROCESSES = 4


def _rms(errors: list[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def accuracy() -> None:
    try:
        import datasketches
    except ImportError:
        print("(datasketches not installed: pip install datasketches)")
        datasketches = None
    print("\n## Relative error of the count and bytes stored per bucket "
          f"({PROCESSES} processes' sketches merged)")
    print("| users | trials | tracekit RMS error | tracekit max error | DataSketches RMS "
          "| DataSketches max | tracekit bytes | DataSketches bytes (HLL_4 compact) | "
          "bytes ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, trials in ((100, 20), (768, 20), (2_000, 20), (10_000, 20), (100_000, 8),
                      (1_000_000, 2)):
        mine_e, theirs_e, mine_b, theirs_b = [], [], [], []
        for trial in range(trials):
            ids = [f"user-{n}-{trial}-{i}" for i in range(n)]
            parts = []
            union = datasketches.hll_union(sketch.P) if datasketches else None
            for p in range(PROCESSES):
                mine = Users()
                theirs = (datasketches.hll_sketch(sketch.P, datasketches.tgt_hll_type.HLL_4)
                          if datasketches else None)
                for user in ids[p::PROCESSES]:
                    mine.add(hash_user(user))
                    if theirs is not None:
                        theirs.update(user)
                parts.append(mine.dumps())
                if union is not None:
                    union.update(theirs)
            merged = sketch.merge(parts)
            mine_e.append(merged.estimate() / n - 1)
            mine_b.append(len(merged.dumps()))
            if union is not None:
                result = union.get_result(datasketches.tgt_hll_type.HLL_4)
                theirs_e.append(result.get_estimate() / n - 1)
                theirs_b.append(len(result.serialize_compact()))
        mb = statistics.mean(mine_b)
        if theirs_e:
            tb = statistics.mean(theirs_b)
            print(f"| {n:,} | {trials} | {_rms(mine_e):.2%} | {max(map(abs, mine_e)):.2%} | "
                  f"{_rms(theirs_e):.2%} | {max(map(abs, theirs_e)):.2%} | {mb:,.0f} | "
                  f"{tb:,.0f} | {mb / tb:.2f} |")
        else:
            print(f"| {n:,} | {trials} | {_rms(mine_e):.2%} | {max(map(abs, mine_e)):.2%} | "
                  f"n/a | n/a | {mb:,.0f} | n/a | n/a |")
    print(f"goal: <= 2 % at 10,000+ users. Relative standard error of {sketch.M:,} registers: "
          f"{1.04 / math.sqrt(sketch.M):.2%}; exact up to {sketch.EXACT_MAX} users "
          "(4 bytes each).")


def costs() -> None:
    print("\n## Cost per operation (tracekit's sketch)")
    big = Users()
    for i in range(50_000):
        big.add(hash_user(str(i)))
    stored_big = big.dumps()
    small = Users()
    for i in range(30):
        small.add(hash_user(str(i)))
    stored_small = small.dumps()
    counter = iter(range(10**9))
    rows = {
        "hash a user id (BLAKE2b, 32 bits; cached per processor)":
            per_call_seconds(lambda: hash_user(str(next(counter))), 20_000),
        "add a user (exact form: 300 users into an empty sketch, per user)": per_call_seconds(
            lambda: _fill(300), 50) / 300,
        "add a user (registers)": per_call_seconds(lambda: big.add(next(counter)), 100_000),
        "read a stored sketch (registers: zlib + check)": per_call_seconds(
            lambda: sketch.loads(stored_big), 2_000),
        "read a stored sketch (30 users)": per_call_seconds(
            lambda: sketch.loads(stored_small), 20_000),
        "merge two register sketches": per_call_seconds(
            lambda: Users.update(sketch.loads(stored_big), big), 1_000),
        "estimate (registers)": per_call_seconds(big.estimate, 2_000),
        "store (registers: zlib)": per_call_seconds(big.dumps, 2_000),
    }
    print("| operation | µs |")
    print("|---|---:|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds * 1e6:.2f} |")
    print(f"\nMemory per feature and minute in a processor: at most {sketch.EXACT_MAX * 4:,} B "
          f"of hashes, then {sketch.M:,} B of registers (whatever the users); a flush "
          "window holds at most 2,000 such keys (the cardinality cap).")


_HASHES = [hash_user(f"x{_i}") for _i in range(300)]


def _fill(n: int) -> Users:
    users = Users()
    for h in _HASHES[:n]:
        users.add(h)
    return users


def main() -> None:
    started = time.perf_counter()
    accuracy()
    costs()
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
