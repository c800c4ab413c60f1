"""Exact per-function call counts for the stats pipeline: ``drain()`` and ``snapshot()``.

Every call of an auto-traced function is counted, traced or not, fast or slow: calls
(exact), total and max duration (exact inside recorded traces; outside them the total is
estimated from the calls timed, about one in 16: ``sites.Counter``), keyed by the
code-location convention name (the same string as the span name and the stats feature).
Sites sharing a name (a property's getter and setter, a module reloaded) are merged: calls
and totals add up, max is the max.
"""

from __future__ import annotations

from django_tracekit.core import call_counts
from django_tracekit.core.vocabulary import NOT_AUTOTRACED
from django_tracekit.sources.autotrace import sites

Counts = call_counts.Counts  # name -> (calls, total_ns, max_ns)


def _collect(reset: bool, unspanned: bool = False) -> Counts:
    merged: dict[str, list[float]] = {}
    for site, n, t, m, k, kt in sites.iter_counts(reset):
        if unspanned:
            n, t = n - k, t - kt
            if n <= 0:
                continue
        entry = merged.setdefault(site.location.name, [0, 0.0, 0.0])
        entry[0] += n
        entry[1] += t
        if m > entry[2]:
            entry[2] = m
    return {name: (int(n), round(t * 1e9), round(m * 1e9)) for name, (n, t, m) in merged.items()}


def drain() -> Counts:
    """Counts since the previous drain (then zeroed): ``{name: (calls, total_ns, max_ns)}``."""
    return _collect(reset=True)


def snapshot() -> Counts:
    """Counts since the previous drain, without resetting them."""
    return _collect(reset=False)


def drain_unspanned() -> Counts:
    """Like :func:`drain`, for the calls that did not become spans (the stats pipeline counts
    spans itself): ``{name: (calls, total_ns, max_ns)}``; max is over all calls."""
    return _collect(reset=True, unspanned=True)


__all__ = ["Counts", "drain", "drain_unspanned", "snapshot"]


#: The included modules this process imported before the hook (set by ``install``).
untraced_modules: list[str] = []


class _Registered:
    """This module and ``sites`` as the stats see them (core.call_counts)."""

    site_count = staticmethod(sites.site_count)
    drain_unspanned = staticmethod(drain_unspanned)

    @staticmethod
    def instrumented() -> list[tuple[str, str]]:
        # Plus one row per module not auto-traced here: its functions were not observed in
        # this service, which the "unused code" page must know (NOT_AUTOTRACED).
        return sites.instrumented() + [(NOT_AUTOTRACED + module, module)
                                       for module in untraced_modules]


call_counts.register(_Registered())
