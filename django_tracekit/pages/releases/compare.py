"""What changed between two ``service.version``\\ s, across all features (the data of
``admin:tracekit_changes``, :mod:`~django_tracekit.pages.releases.releases_admin`).

Read from the stats rows' versions (``FeatureStats``: each version's life row, which holds
its built days, and the hour rows after them: a version's whole retained life is a few rows
per feature).
Versions are ordered by when they were first seen (to the minute where minute rows are
kept, else to the hour where hour rows are kept, else to the day).

**Regression score** (higher = worse; the page sorts by it, worst first):

    score = Δ error rate in percentage points       (0 unless significant)
          + 25 * log2(p95 after / p95 before)        (0 unless significant)

Significance is :mod:`django_tracekit.pages.shared.significance`'s (two-proportion z-test for
error rates; for p95 the estimator's relative error and each side's confidence interval from
its number of calls). So an endpoint going from 0 %
to 100 % errors scores 100 and comes first; a p95 twice as slow scores 25, sixteen times
as slow 100 (broken beats slow); improvements score below 0. A feature new in the later
version scores its error rate (a new endpoint failing every call is a regression too);
features seen only in the earlier version are listed apart ("vanished").
"""

from __future__ import annotations

import math
from typing import Any

from django.db.models import Max, Min, Sum

from django_tracekit.pages.shared import feature_filter, significance
from django_tracekit.pages.shared.usage_rows import (
    marks,
    merged_latency,
    watermarks,
    widen_version_spans,
)
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    LIFE,
    MINUTE,
    Feature,
    FeatureStats,
)

LATENCY_WEIGHT = 25.0  # score points per doubling of p95
KIND_ORDER = {"request": 0, "task": 1, "command": 2, "function": 3}


def versions() -> list[dict[str, Any]]:
    """Every version in the tables, newest first (by first seen): ``{version, first, last}``
    (epoch seconds; ``last`` is the end of the last bucket seen)."""
    found: dict[str, dict[str, Any]] = {}
    day_through, _ = watermarks()
    for version, lo, hi in FeatureStats.objects.filter(
            resolution=DAY, bucket_start__lt=day_through).exclude(version="").values(
            "version").annotate(lo=Min("bucket_start"), hi=Max("bucket_start")).values_list(
            "version", "lo", "hi"):
        found[version] = {"version": version, "first": lo, "last": hi + DAY}
    # Hour rows (kept 35 days) tell two versions of the same day apart; the minutes not
    # in their hour's row yet (split_hours) count as their hours.
    minute_mark = marks().get(MINUTE, 0)
    hours: dict[str, tuple[int, int]] = {}
    for rows in (FeatureStats.objects.filter(resolution=HOUR),
                 FeatureStats.objects.filter(resolution=MINUTE, bucket_start__gte=minute_mark)):
        widen_version_spans(rows.exclude(version=""), HOUR, hours)
    for version, (lo, hi) in hours.items():
        if hi >= day_through:  # days not built yet: the hours say
            day_lo = max(lo, day_through)
            seen = found.setdefault(version, {"version": version,
                                              "first": day_lo - day_lo % DAY,
                                              "last": hi - hi % DAY + DAY})
            seen["last"] = max(seen["last"], hi - hi % DAY + DAY)
        _refine(found.get(version), lo, hi, DAY, HOUR)
    # Minute rows (kept a few hours) tell apart two releases of the same hour: a deploy
    # minutes after another must not sort by its version string (git hashes).
    for version, lo, hi in FeatureStats.objects.filter(resolution=MINUTE).exclude(
            version="").values("version").annotate(
            lo=Min("bucket_start"), hi=Max("bucket_start")).values_list("version", "lo", "hi"):
        _refine(found.get(version), lo, hi, HOUR, MINUTE)
    return sorted(found.values(), key=lambda r: (r["first"], r["last"], r["version"]),
                  reverse=True)


def _refine(row: dict[str, Any] | None, lo: int, hi: int, coarse: int, fine: int) -> None:
    """Narrow a version's first/last seen (``coarse`` buckets) to the ``fine`` buckets
    that fall inside them."""
    if row is None:
        return
    if row["first"] <= lo < row["first"] + coarse:
        row["first"] = lo
    if row["last"] - coarse <= hi < row["last"]:
        row["last"] = hi + fine


def _totals(pair: tuple[str, str], service: str) -> tuple[
        dict[tuple[int, str], list[int]], dict[tuple[int, str], list[tuple[int, int]]]]:
    found = marks()
    day_through = found.get(DAY, 0)
    counts: dict[tuple[int, str], list[int]] = {}
    latency: list[tuple[tuple[int, str], Any]] = []
    # Each version's life row holds its built days; the hours after them are read as such,
    # and the minutes not in their hour's row yet (split_hours) as minutes.
    for rows in (FeatureStats.objects.filter(resolution=LIFE),
                 FeatureStats.objects.filter(resolution=HOUR, bucket_start__gte=day_through),
                 FeatureStats.objects.filter(resolution=MINUTE, bucket_start__gte=max(
                     day_through, found.get(MINUTE, 0)))):
        rows = rows.filter(version__in=pair)
        if service:
            rows = rows.filter(feature__service=service)
        for fid, version, c, e, m in rows.values("feature_id", "version").annotate(
                c=Sum("calls"), e=Sum("errors"), m=Max("duration_max_us")).values_list(
                "feature_id", "version", "c", "e", "m"):
            before = counts.get((fid, version), [0, 0, 0])
            counts[(fid, version)] = [before[0] + int(c), before[1] + int(e),
                                      max(before[2], int(m or 0))]
        latency.extend(((fid, version), data) for fid, version, data in rows.exclude(
            calls=0).values_list("feature_id", "version", "latency"))
    hists = merged_latency(latency)
    return counts, hists


def _side(counts: list[int] | None, hist: list[tuple[int, int]]) -> dict[str, Any] | None:
    if counts is None or not counts[0]:
        return None
    calls, errors, max_us = counts
    p95, interval = significance.estimate(hist, 0.95, max_us)
    return {"calls": calls, "errors": errors, "error_rate": errors / calls, "p95": p95,
            "p95_interval": interval}


def score(before: dict[str, Any] | None, after: dict[str, Any] | None,
          rate: significance.Change | None, latency: significance.Change | None) -> float:
    """The regression score (see the module docstring)."""
    if after is None:
        return 0.0
    if before is None:
        return float(after["error_rate"] * 100)
    value = 0.0
    if rate is not None and rate.significant:
        value += (after["error_rate"] - before["error_rate"]) * 100
    if latency is not None and latency.significant and before["p95"] and after["p95"]:
        value += LATENCY_WEIGHT * math.log2(after["p95"] / before["p95"])
    return value


def compare(before: str, after: str, service: str = "",
            kinds: tuple[str, ...] | None = None,
            relative_error: float | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"changed": [...], "new": [...], "vanished": [...]}``: one row per feature,
    ``changed`` (seen under both versions) sorted by regression score, worst first."""
    error = (significance.estimator_relative_error() if relative_error is None
             else relative_error)
    counts, hists = _totals((before, after), service)
    ids = {fid for fid, _ in counts}
    features = Feature.objects.filter(pk__in=ids)
    if kinds is not None:
        features = features.filter(kind__in=kinds)
    for prefix in feature_filter.outside_prefixes():  # Django's and libraries' code: not a release
        features = features.exclude(name__startswith=prefix)
    result: dict[str, list[dict[str, Any]]] = {"changed": [], "new": [], "vanished": []}
    for pk, name, kind_, service_ in features.values_list("id", "name", "kind", "service"):
        old = _side(counts.get((pk, before)), hists.get((pk, before), []))
        new = _side(counts.get((pk, after)), hists.get((pk, after), []))
        if old is None and new is None:
            continue
        rate = latency = None
        if old is not None and new is not None:
            rate = significance.rate_change(old["errors"], old["calls"], new["errors"],
                                            new["calls"])
            latency = significance.latency_change(
                old["p95"], new["p95"], error, (old["calls"], new["calls"]),
                (old["p95_interval"], new["p95_interval"]))
        row = {"id": pk, "name": name, "kind": kind_, "service": service_, "before": old,
               "after": new, "rate_change": rate, "p95_change": latency,
               "score": score(old, new, rate, latency)}
        section = "changed" if old and new else "new" if new else "vanished"
        result[section].append(row)

    def order(row: dict[str, Any]) -> tuple[float, int, int, str]:
        side = row["after"] or row["before"]
        return (-row["score"], KIND_ORDER.get(row["kind"], 9), -side["calls"], row["name"])

    for rows in result.values():
        rows.sort(key=order)
    return result
