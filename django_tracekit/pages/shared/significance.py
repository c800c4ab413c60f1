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

**Error rate**: calls and errors are exact counts, but a rate of few calls is noisy; the
change is significant when the two-proportion z-test (pooled) gives ``|z| >= 1.96`` (95 %),
shown in percentage points. 0 of 5 → 5 of 5 is significant (z = 3.2); 0 of 1 → 1 of 1 is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from django_tracekit.core import histogram

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

    @property
    def detail(self) -> str:
        if len(self.bounds) == 3:
            low, high, error = self.bounds
            return _("true change between %(low)+.0f %% and %(high)+.0f %% (estimates "
                     "within ±%(error).2g %%)") % {"low": low, "high": high, "error": error}
        (z,) = self.bounds or (0.0,)
        return _("z = %(z).1f (two-proportion test; significant from ±%(limit)s)") % {
            "z": z, "limit": Z_95}


#: A percentile of fewer calls than this is one or two slow calls, not a distribution: its
#: change is never significant (a real project's release page flagged a 3-call login +676 %).
MIN_LATENCY_CALLS = 20


def latency_change(before: float | None, after: float | None,
                   relative_error: float, calls: tuple[int, int] | None = None,
                   ) -> Change | None:
    """The change of a latency estimate, or None when either side has no value. With
    ``calls`` (before, after): not significant while either side has fewer than
    :data:`MIN_LATENCY_CALLS`."""
    if before is None or after is None or before <= 0 or after <= 0:
        return None
    if not 0 <= relative_error < 1:
        raise ValueError(f"relative error must be in [0, 1), got {relative_error!r}")
    spread = (1 + relative_error) / (1 - relative_error)
    ratio = after / before
    bounds = ((ratio / spread - 1) * 100, (ratio * spread - 1) * 100, relative_error * 100)
    if calls is not None and min(calls) < MIN_LATENCY_CALLS:
        return Change(False, bounds=bounds)
    if 1 / spread / (1 + _TOLERANCE) <= ratio <= spread * (1 + _TOLERANCE):
        return Change(False, bounds=bounds)
    return Change(True, worse=ratio > 1, better=ratio < 1,
                  change=f"{(ratio - 1) * 100:+.0f} %", bounds=bounds)


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
