"""The duration histogram: log-bucketed, sparse, mergeable by addition.

Bucket scheme: bucket ``i`` holds durations ``d`` (in microseconds) with
``GAMMA**i <= d < GAMMA**(i + 1)``, ``GAMMA = 2 ** (1/4)`` (four buckets per doubling),
i.e. ``i = floor(4 * log2(d_us))``; durations under 1 µs go to bucket 0 and the last bucket
(``MAX_INDEX`` = 159, 2**40 µs ≈ 12.7 days) takes everything longer.

Estimate: a quantile is the representative value of the bucket holding its rank,
``2 * GAMMA**(i + 1) / (GAMMA + 1)`` (DDSketch), clamped to the observed maximum. For
durations between 1 µs and 12.7 days the estimate's relative error is at most
``(GAMMA - 1) / (GAMMA + 1)`` = **8.64 %**, whatever the distribution and however many
histograms are merged: merging is adding counts bucket by bucket (in SQL: ``SUM(n)``
grouped by bucket index), so rollups and many processes lose no precision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

GAMMA = 2 ** 0.25
BUCKETS_PER_DOUBLING = 4
MAX_INDEX = 159
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)

_log2 = math.log2


def bucket_index(duration_ns: int) -> int:
    """The bucket of a duration in nanoseconds (see the module docstring)."""
    if duration_ns < 1000:
        return 0
    index = int(_log2(duration_ns * 1e-3) * 4.0)
    return index if index < MAX_INDEX else MAX_INDEX


def bucket_bounds_us(index: int) -> tuple[float, float]:
    """``[low, high)`` in microseconds."""
    return GAMMA ** index, GAMMA ** (index + 1)


def representative_us(index: int) -> float:
    """The value that minimises the worst relative error over the bucket."""
    return 2 * GAMMA ** (index + 1) / (GAMMA + 1)


def quantiles(buckets: Mapping[int, int] | Iterable[tuple[int, int]], qs: Iterable[float],
              max_us: float | None = None) -> list[float | None]:
    """Quantile estimates (microseconds) for ``qs`` (0..1); ``None`` for an empty histogram.

    Rank convention: the q-quantile is the value of rank ``ceil(q * n)`` (nearest rank).
    """
    items = sorted(buckets.items() if isinstance(buckets, Mapping) else buckets)
    total = sum(n for _, n in items)
    if total <= 0:
        return [None for _ in qs]
    results: list[float | None] = []
    for q in qs:
        rank = max(1, math.ceil(q * total))
        seen = 0
        value = representative_us(items[-1][0])
        for index, n in items:
            seen += n
            if seen >= rank:
                value = representative_us(index)
                break
        if max_us is not None and max_us > 0:
            value = min(value, max_us)
        results.append(value)
    return results
