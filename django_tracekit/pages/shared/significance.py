"""When is a change between two versions a change? One place decides, for every page.

**Latency** (p50/p95 estimates): the estimator guarantees a relative error ``a`` per
estimate (``|estimate - true| <= a · true``; today's histogram: ``a = (g-1)/(g+1)`` =
1.93 % with ``g = 2**(1/18)``, see :mod:`django_tracekit.core.histogram`). An estimate
``x``
therefore stands for a true value in ``[x/(1+a), x/(1-a)]``; the change from ``before`` to
``after`` is *significant* only when those two intervals do not overlap, i.e. when the
ratio ``after/before`` lies outside ``[(1-a)/(1+a), (1+a)/(1-a)]`` (for the histogram that
is ``[1/g, g]``: estimates in neighbouring buckets are *no significant change*, two buckets
apart, ±8 %, are). The true ratio is bounded by ``ratio · (1-a)/(1+a)`` and
``ratio · (1+a)/(1-a)``; both bounds are given with every change. A sketch with a smaller
``a`` (a DDSketch at 1 %) passes its own ``a`` and the same rule holds.

**Sampling** (with the histograms): a p95 of 40 calls is their second slowest call; another
40 calls of the same code read +50 % on a busy machine. So where the histogram is at hand,
each side also gets the distribution-free 95 % confidence interval of its percentile (order
statistics: the true q-quantile of ``n`` calls lies between the values of ranks
``n·q ± 1.96·sqrt(n·q·(1-q))``; unbounded where a rank falls outside the calls), widened by
the estimator's error, and a change is significant only when the two intervals do not
overlap. Below ~75 calls a p95's interval is open above: "slower" needs more calls.

**Error rate**: calls and errors are exact counts, but a rate of few calls is noisy; the
change is significant when the two-proportion z-test (pooled) gives ``|z| >= 1.96`` (95 %),
shown in percentage points. 0 of 5 → 5 of 5 is significant (z = 3.2); 0 of 1 → 1 of 1 is not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from django_tracekit.core import histogram
from django_tracekit.core.histogram import quantiles

Z_95 = 1.96
_TOLERANCE = 1e-9  # neighbouring buckets' estimates are exactly g apart: not significant


def estimator_relative_error() -> float:
    """The relative error bound of the latency estimator the stats store today."""
    return float(histogram.RELATIVE_ERROR)


@dataclass(frozen=True)
class Change:
    """One before -> after change, for display: ``text`` ("+41 %", "no significant
    change"), ``worse``/``better`` only when significant; ``detail`` explains the bound (a
    tooltip). Texts are made when shown (the releases page decides on thousands of changes
    and shows a few hundred)."""

    significant: bool
    worse: bool = False
    better: bool = False
    change: str = ""  # the change as shown when significant ("+41 %", "+9.0 pp")
    bounds: tuple[float, ...] = ()  # latency: (low %, high %, error %); rate: (z,)

    @property
    def text(self) -> str:
        return self.change if self.significant else _("no significant change")

    few_calls: bool = False  # latency: not significant because of the numbers of calls

    @property
    def detail(self) -> str:
        if len(self.bounds) == 3:
            low, high, error = self.bounds
            if self.few_calls:
                return _("too few calls to tell: the percentiles' 95 %% confidence intervals "
                         "from their numbers of calls overlap (estimates within "
                         "±%(error).2g %%)") % {"error": error}
            return _("true change between %(low)+.0f %% and %(high)+.0f %% (estimates "
                     "within ±%(error).2g %%)") % {"low": low, "high": high, "error": error}
        (z,) = self.bounds or (0.0,)
        return _("z = %(z).1f (two-proportion test; significant from ±%(limit)s)") % {
            "z": z, "limit": Z_95}


#: A percentile of fewer calls than this is one or two slow calls, not a distribution: its
#: change is never significant (a real project's release page flagged a 3-call login +676 %).
MIN_LATENCY_CALLS = 20


#: A percentile's 95 % confidence interval: (low, high), None where unbounded.
Interval = tuple[float | None, float | None]


def estimate(hist: Iterable[tuple[int, int]], q: float,
             max_us: float | None = None) -> tuple[float | None, Interval]:
    """The ``q``-quantile of the calls in ``hist`` (``(bucket, count)`` pairs) and its
    distribution-free 95 % confidence interval: the values at ranks
    ``n·q ± 1.96·sqrt(n·q·(1-q))`` (order statistics), None for a rank outside ``1..n``.
    One pass over the histogram for the three."""
    items = list(hist)
    n = sum(count for _, count in items)
    if n <= 0:
        return None, (None, None)
    spread = Z_95 * math.sqrt(n * q * (1 - q))
    low_rank, high_rank = math.floor(n * q - spread), math.ceil(n * q + spread)
    # quantiles() reads rank ceil(q·n): (rank - 0.5)/n is that rank whatever the rounding
    wanted = [q, *((r - 0.5) / n for r in (low_rank, high_rank) if 1 <= r <= n)]
    values = iter(quantiles(items, wanted, max_us))
    value = next(values)
    low = next(values) if low_rank >= 1 else None
    high = next(values) if high_rank <= n else None
    return value, (low, high)


def quantile_interval(hist: Iterable[tuple[int, int]], q: float,
                      max_us: float | None = None) -> Interval:
    """The 95 % confidence interval of :func:`estimate`."""
    return estimate(hist, q, max_us)[1]


def latency_change(before: float | None, after: float | None,
                   relative_error: float, calls: tuple[int, int] | None = None,
                   intervals: tuple[Interval, Interval] | None = None,
                   ) -> Change | None:
    """The change of a latency estimate, or None when either side has no value. With
    ``calls`` (before, after): not significant while either side has fewer than
    :data:`MIN_LATENCY_CALLS`. With ``intervals`` (each side's
    :func:`quantile_interval`): not significant while they overlap (after widening each by
    the estimator's error)."""
    if before is None or after is None or before <= 0 or after <= 0:
        return None
    if not 0 <= relative_error < 1:
        raise ValueError(f"relative error must be in [0, 1), got {relative_error!r}")
    spread = (1 + relative_error) / (1 - relative_error)
    ratio = after / before
    bounds = ((ratio / spread - 1) * 100, (ratio * spread - 1) * 100, relative_error * 100)
    if calls is not None and min(calls) < MIN_LATENCY_CALLS:
        return Change(False, bounds=bounds, few_calls=True)
    if 1 / spread / (1 + _TOLERANCE) <= ratio <= spread * (1 + _TOLERANCE):
        return Change(False, bounds=bounds)
    if intervals is not None and _overlap(intervals, relative_error, slower=ratio > 1):
        return Change(False, bounds=bounds, few_calls=True)
    return Change(True, worse=ratio > 1, better=ratio < 1,
                  change=f"{(ratio - 1) * 100:+.0f} %", bounds=bounds)


def _overlap(intervals: tuple[Interval, Interval], relative_error: float,
             slower: bool) -> bool:
    """Could the true percentiles be equal? (``slower``: is the estimate after above the
    one before.)"""
    (before_low, before_high), (after_low, after_high) = intervals
    low, high = (after_low, before_high) if slower else (before_low, after_high)
    if low is None or high is None:
        return True
    return low / (1 + relative_error) <= high / (1 - relative_error)


def z_score(before_errors: int, before_calls: int, after_errors: int,
            after_calls: int) -> float:
    """The pooled two-proportion z statistic of the error rates (0 when undefined)."""
    if before_calls <= 0 or after_calls <= 0:
        return 0.0
    p1, p2 = before_errors / before_calls, after_errors / after_calls
    pooled = (before_errors + after_errors) / (before_calls + after_calls)
    variance = pooled * (1 - pooled) * (1 / before_calls + 1 / after_calls)
    if variance <= 0:
        return 0.0
    return (p2 - p1) / math.sqrt(variance)


def format_points(points: float) -> str:
    """Percentage points, with the precision the size needs: +100, +4.5, +0.12."""
    digits = 0 if abs(points) >= 10 else 1 if abs(points) >= 1 else 2
    return f"{points:+.{digits}f}"


def rate_change(before_errors: int, before_calls: int, after_errors: int,
                after_calls: int) -> Change | None:
    """The change of an error rate in percentage points, or None without calls."""
    if before_calls <= 0 or after_calls <= 0:
        return None
    points = (after_errors / after_calls - before_errors / before_calls) * 100
    z = z_score(before_errors, before_calls, after_errors, after_calls)
    if abs(z) < Z_95:
        return Change(False, bounds=(z,))
    return Change(True, worse=points > 0, better=points < 0,
                  change=f"{format_points(points)} pp", bounds=(z,))
