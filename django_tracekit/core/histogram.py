"""The duration histogram: log-bucketed, sparse, mergeable by addition.

Bucket scheme: bucket ``i`` holds durations ``d`` (in microseconds) with
``GAMMA**i <= d < GAMMA**(i + 1)``, ``GAMMA = 2 ** (1/18)`` (18 buckets per doubling),
i.e. ``i = floor(18 * log2(d_us))``; durations under 1 µs go to bucket 0 and the last bucket
(``MAX_INDEX`` = 719, 2**40 µs ≈ 12.7 days) takes everything longer.

Estimate: a quantile is the representative value of the bucket holding its rank,
``2 * GAMMA**(i + 1) / (GAMMA + 1)`` (DDSketch), clamped to the observed maximum. For
durations between 1 µs and 12.7 days the estimate's relative error is at most
``(GAMMA - 1) / (GAMMA + 1)`` = **1.93 %**, whatever the distribution and however many
histograms are merged: merging is adding counts bucket by bucket, so rollups and many
processes lose no precision. A histogram is stored packed in one bytes column
(:func:`pack`, :func:`unpack`).

Data written before 0008 (``GAMMA = 2 ** (1/4)``, 8.64 %) was carried over bucket by
bucket (:func:`from_coarse`): it keeps its 8.64 %.
"""

from __future__ import annotations

import math
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from itertools import accumulate
from typing import TypeVar

K = TypeVar("K")

BUCKETS_PER_DOUBLING = 18
# ``2 ** (k / 18)`` for k = 0..17, written out (a test checks them): computing them
# (``pow``), or a bucket with ``log2``, maps libm's code and tables into every process that
# records a span, ~0.4 MB of a web worker's RSS (docs/PERFORMANCE.md, "Memory").
_STEPS = (1.0, 1.0392592260318434, 1.080059738892306, 1.122462048309373,
          1.1665290395761165, 1.2123260668135445, 1.2599210498948732, 1.3093845751749735,
          1.360790000174377, 1.4142135623730951, 1.4697344922755988, 1.5274351309146432,
          1.5874010519681994, 1.649721188670605, 1.7144879657061456, 1.7817974362806785,
          1.8517494245745807, 1.9244476737882903)
GAMMA = _STEPS[1]
MAX_INDEX = 40 * BUCKETS_PER_DOUBLING - 1
COARSE_PER_DOUBLING = 4  # the scheme before 0008
RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1)


def _lower_bounds_ns() -> list[int]:
    """The smallest duration (ns) of each bucket: ``ceil(1000 * GAMMA**i)``, the power
    being a step times a power of two, in exact integer arithmetic (no libm, no rounding)."""
    ratios = [step.as_integer_ratio() for step in _STEPS]
    bounds = []
    for i in range(MAX_INDEX + 1):
        numerator, denominator = ratios[i % BUCKETS_PER_DOUBLING]
        bounds.append(-(-(1000 * numerator << i // BUCKETS_PER_DOUBLING) // denominator))
    return bounds


_LOWER_BOUNDS_NS = _lower_bounds_ns()


def bucket_index(duration_ns: int) -> int:
    """The bucket of a duration in nanoseconds (see the module docstring)."""
    index = bisect_right(_LOWER_BOUNDS_NS, duration_ns) - 1
    return index if index > 0 else 0


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


_FORMAT = 1
_HEADER = struct.Struct("<BH")
_BIG_ENDIAN = array("H", b"\x01\x00")[0] != 1


def pack(buckets: Mapping[int, int]) -> bytes:
    """A histogram as bytes: a format byte, the number of buckets, their indexes (uint16)
    and their counts (uint64), little-endian; ``b""`` when empty."""
    indexes = sorted(buckets)
    counts = [buckets[i] for i in indexes]
    if 0 in counts:  # empty buckets are not stored
        indexes = [i for i in indexes if buckets[i]]
        counts = [buckets[i] for i in indexes]
    if not indexes:
        return b""
    # One cached struct per size (every flush packs thousands): half the time of arrays.
    try:
        return _HEADER.pack(_FORMAT, len(indexes)) + _body(len(indexes)).pack(*indexes, *counts)
    except struct.error as exc:  # a count out of range: a data error, as arrays raised
        raise OverflowError(str(exc)) from exc


def unpack(data: bytes | memoryview | None) -> dict[int, int]:
    """The histogram :func:`pack` made (``{}`` for empty or unreadable bytes)."""
    if not data:
        return {}
    data = bytes(data)
    if len(data) < _HEADER.size:
        return {}
    fmt, n = _HEADER.unpack_from(data)
    if fmt != _FORMAT or len(data) != _HEADER.size + 10 * n:
        return {}
    indexes = array("H")
    indexes.frombytes(data[_HEADER.size:_HEADER.size + 2 * n])
    counts = array("Q")
    counts.frombytes(data[_HEADER.size + 2 * n:])
    if _BIG_ENDIAN:
        indexes.byteswap()
        counts.byteswap()
    return dict(zip(indexes, counts, strict=True))


class Merged:
    """Packed histograms (:func:`pack`) merged into dense counts (one list of
    ``MAX_INDEX + 1`` per histogram, no dict per row), with the range of buckets used:
    what a page does with the tens of thousands of rows a long window covers."""

    __slots__ = ("counts", "high", "low")

    def __init__(self) -> None:
        self.counts = [0] * (MAX_INDEX + 1)
        self.low = MAX_INDEX + 1
        self.high = -1

    def add_packed(self, data: bytes | memoryview | None) -> bool:
        """Add one packed histogram; False (nothing added) for empty or unreadable bytes."""
        if not data or len(data) < _HEADER.size:
            return False
        fmt, n = _HEADER.unpack_from(data)
        if fmt != _FORMAT or not 0 < n <= MAX_INDEX + 1 or len(data) != _HEADER.size + 10 * n:
            return False
        body = _body(n)
        values = body.unpack_from(data, _HEADER.size)
        indexes = values[:n]
        low, high = min(indexes), max(indexes)
        if high > MAX_INDEX:
            return False
        if low < self.low:
            self.low = low
        if high > self.high:
            self.high = high
        counts = self.counts
        for index, count in zip(indexes, values[n:], strict=True):
            counts[index] += count
        return True

    def sparse(self) -> list[tuple[int, int]]:
        """The non-empty ``(index, count)`` (what :func:`quantiles` takes)."""
        counts = self.counts
        return [(i, counts[i]) for i in range(self.low, self.high + 1) if counts[i]]

    def quantiles(self, qs: Iterable[float], max_us: float | None = None,
                  ) -> list[float | None]:
        """:func:`quantiles` of the merged counts, in one cumulative pass over the buckets
        used (ranks found by bisection)."""
        if self.high < 0:
            return [None for _ in qs]
        cumulative = list(accumulate(self.counts[self.low:self.high + 1]))
        total = cumulative[-1]
        if total <= 0:
            return [None for _ in qs]
        results: list[float | None] = []
        for q in qs:
            rank = max(1, math.ceil(q * total))
            value = representative_us(self.low + bisect_left(cumulative, rank))
            if max_us is not None and max_us > 0:
                value = min(value, max_us)
            results.append(value)
        return results


def merge_rows(rows: Iterable[tuple[K, bytes | memoryview | None]],
               ) -> dict[K, Merged]:
    """``(key, packed histogram)`` rows merged per key: :meth:`Merged.add_packed` inlined
    (a page merges tens of thousands of rows; a call and the checks per row were a third
    of it). Empty and unreadable rows are skipped."""
    found: dict[K, Merged] = {}
    header, bodies, top = _HEADER.unpack_from, _BODIES, MAX_INDEX + 1
    for key, data in rows:
        if not data or len(data) < _HEADER.size:
            continue
        fmt, n = header(data)
        if fmt != _FORMAT or not 0 < n <= top or len(data) != _HEADER.size + 10 * n:
            continue
        values = (bodies.get(n) or _body(n)).unpack_from(data, _HEADER.size)
        into = found.get(key)
        if into is None:
            into = found[key] = Merged()
        counts = into.counts
        try:  # indexes are sorted (pack): the first and last are the range
            for index, count in zip(values[:n], values[n:], strict=True):
                counts[index] += count
        except IndexError:  # not a histogram pack() made: what was added stays (bounded)
            continue
        if values[0] < into.low:
            into.low = values[0]
        if values[n - 1] > into.high:
            into.high = values[n - 1]
    return found


_BODIES: dict[int, struct.Struct] = {}


def _body(n: int) -> struct.Struct:
    """The indexes and counts of a packed histogram of ``n`` buckets (explicitly
    little-endian: the same on every machine)."""
    body = _BODIES.get(n)
    if body is None:
        body = _BODIES[n] = struct.Struct(f"<{n}H{n}Q")
    return body


def add(into: dict[int, int], other: Mapping[int, int]) -> None:
    for index, n in other.items():
        into[index] = into.get(index, 0) + n


def from_coarse(index: int) -> int:
    """The bucket of today's scheme holding the representative value of bucket ``index``
    of the scheme before 0008 (four buckets per doubling)."""
    coarse_gamma = 2 ** (1 / COARSE_PER_DOUBLING)
    value_us = 2 * coarse_gamma ** (index + 1) / (coarse_gamma + 1)
    return bucket_index(int(value_us * 1000))
