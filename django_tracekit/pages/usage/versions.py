"""The feature page's versions table: one row per ``service.version`` the feature ran under,
and the latest version's change against the previous
(:mod:`~django_tracekit.pages.shared.significance`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, Min, Sum

from django_tracekit.pages.shared import significance
from django_tracekit.pages.shared.usage_rows import (
    marks,
    merged_latency,
    stats_cover,
    widen_version_spans,
)
from django_tracekit.pages.shared.window import Window
from django_tracekit.pages.usage.users import users_by_feature
from django_tracekit.storage.usage_models import (
    DAY,
    HOUR,
    MINUTE,
    VERSION_RESOLUTIONS,
    FeatureStats,
)


def versions_table(window: Window, feature_id: int) -> list[dict[str, Any]]:
    """One row per ``service.version`` the feature ran under in the window, the latest
    (last seen, then first seen) first: calls, errors, error rate, users, p50/p95.

    Versions are kept per hour and day: a window is widened to whole hours."""
    start = window.start - window.start % HOUR
    end = -(-window.end // HOUR) * HOUR
    spans = stats_cover(start, end, HOUR, window.open_end, VERSION_RESOLUTIONS)
    rows: dict[str, dict[str, Any]] = {}
    latency: list[tuple[str, Any]] = []
    for resolution, first, last in spans:
        for version, c, e, s, m, lo, hi in FeatureStats.objects.filter(
                feature_id=feature_id, resolution=resolution, bucket_start__gte=first,
                bucket_start__lt=last).exclude(version="").values("version").annotate(
                c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
                m=Max("duration_max_us"), lo=Min("bucket_start"),
                hi=Max("bucket_start")).values_list("version", "c", "e", "s", "m", "lo", "hi"):
            row = rows.setdefault(version, {"version": version, "calls": 0, "errors": 0,
                                            "sum_us": 0, "max_us": 0, "first": lo,
                                            "last": hi + resolution})
            row["calls"] += c
            row["errors"] += e
            row["sum_us"] += s
            row["max_us"] = max(row["max_us"], m)
            row["first"] = min(row["first"], lo)
            row["last"] = max(row["last"], hi + resolution)
        latency.extend(FeatureStats.objects.filter(
            feature_id=feature_id, resolution=resolution, bucket_start__gte=first,
            bucket_start__lt=last).exclude(calls=0).exclude(version="").values_list(
            "version", "latency"))
    hists = merged_latency(latency)
    # When each version was seen, to the hour where hour rows are kept (35 days), then to
    # the minute where minute rows are: two releases of one hour are told apart by when
    # each started and stopped, not by their names (git hashes).
    # (The minutes not in their hour's row yet count as hours: split_hours.)
    minute_mark = marks().get(MINUTE, 0)
    for resolution, coarse in ((HOUR, DAY), (MINUTE, HOUR)):
        seen: dict[str, tuple[int, int]] = {}
        for stored, first in ((resolution, start), *(((MINUTE, max(start, minute_mark)),)
                                                     if resolution == HOUR else ())):
            widen_version_spans(FeatureStats.objects.filter(
                feature_id=feature_id, resolution=stored, bucket_start__gte=first,
                bucket_start__lt=end, version__in=list(rows)), resolution, seen)
        for version, (lo, hi) in seen.items():
            row = rows[version]
            if lo < row["first"] + coarse:
                row["first"] = max(row["first"], lo)
            if hi + resolution > row["last"] - coarse:
                row["last"] = min(row["last"], hi + resolution)
    result = sorted(rows.values(), key=lambda r: (r["last"], r["first"], r["version"]),
                    reverse=True)
    for row in result:
        calls = row["calls"]
        row["error_rate"] = row["errors"] / calls if calls else 0.0
        hist = hists.get(row["version"], [])
        row["intervals"] = {}
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            row[name], row["intervals"][name] = significance.estimate(hist, q, row["max_us"])
        row["users"] = users_by_feature(window, [feature_id], row["version"]).get(
            feature_id, 0)
    return result



def version_deltas(latest: dict[str, Any], previous: dict[str, Any],
                   ) -> dict[str, significance.Change | None]:
    """The feature page's version table: the latest version against the previous one,
    with changes inside the estimates' error shown as "no significant change"."""
    error = significance.estimator_relative_error()
    deltas = {q: significance.latency_change(
        previous[q], latest[q], error, (previous["calls"], latest["calls"]),
        (previous["intervals"][q], latest["intervals"][q])) for q in ("p50", "p95")}
    deltas["error_rate"] = significance.rate_change(previous["errors"], previous["calls"],
                                                    latest["errors"], latest["calls"])
    return deltas

