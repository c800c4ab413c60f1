"""The usage pages' aggregates, computed in SQL over the rows of a :class:`Window`.

90 days x 1,000 features is 90,000 counter rows summed by the database, and histogram rows
only for the features shown on the current page (all matching features only when sorting
by a percentile).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar, cast

from django.db.models import Max, Model, QuerySet, Sum

from django_tracekit.models import (
    ErrorSample,
    Feature,
    LatencyBucket,
    UsageBucket,
)
from django_tracekit.reports.window import Window
from django_tracekit.stats.histogram import quantiles

SORTS = ("feature", "kind", "service", "calls", "errors", "error_rate", "p50", "p95", "p99")
DEFAULT_SORT = "-calls"
PERCENTILES = (0.5, 0.95, 0.99)
M = TypeVar("M", bound=Model)


def _usage(window: Window) -> QuerySet[UsageBucket]:
    """Counter rows of the window's buckets (per bucket: charts)."""
    return cast("QuerySet[UsageBucket]", UsageBucket.objects.filter(
        resolution=window.resolution, bucket_start__gte=window.start,
        bucket_start__lt=window.end))


def _latency(window: Window) -> QuerySet[LatencyBucket]:
    return cast("QuerySet[LatencyBucket]", LatencyBucket.objects.filter(
        resolution=window.resolution, bucket_start__gte=window.start,
        bucket_start__lt=window.end))


def _spans(model: type[M], window: Window) -> Iterator[QuerySet[M]]:
    """Rows that add up to the whole window, the coarsest there are (totals, percentiles):
    one query per span, each one index range (an OR of ranges makes PostgreSQL scan the
    whole table)."""
    for resolution, start, end in window.cover():
        yield cast("QuerySet[M]", model._default_manager.filter(
            resolution=resolution, bucket_start__gte=start, bucket_start__lt=end))


def filtered_features(q: str = "", kind: str = "", service: str = "",
                      feature_id: int | None = None) -> QuerySet[Feature]:
    features = Feature.objects.all()
    if feature_id is not None:
        features = features.filter(pk=feature_id)
    if q:
        features = features.filter(name__icontains=q)
    if kind:
        features = features.filter(kind=kind)
    if service:
        features = features.filter(service=service)
    return cast("QuerySet[Feature]", features)


def services() -> list[str]:
    return list(Feature.objects.order_by("service").values_list("service", flat=True).distinct())


def percentiles_by_feature(window: Window, feature_ids: Iterable[int] | None,
                           maxes: Mapping[int, int]) -> dict[int, list[float | None]]:
    ids = None if feature_ids is None else list(feature_ids)
    hists: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for buckets in _spans(LatencyBucket, window):
        if ids is not None:
            buckets = buckets.filter(feature_id__in=ids)
        for feature_id, index, n in (buckets.values("feature_id", "bin")
                                     .annotate(total=Sum("n"))
                                     .values_list("feature_id", "bin", "total")):
            hists[feature_id].append((index, n))  # quantiles() adds up repeated bins
    return {fid: quantiles(h, PERCENTILES, maxes.get(fid)) for fid, h in hists.items()}


def feature_table(window: Window, q: str = "", kind: str = "", service: str = "",
                  sort: str = DEFAULT_SORT, feature_id: int | None = None,
                  ) -> list[dict[str, Any]]:
    """One row per matching feature (zero-call features included): counts in the window."""
    features = filtered_features(q, kind, service, feature_id)
    filtered = bool(q or kind or service or feature_id is not None)
    totals: dict[int, tuple[int, int, int, int]] = {}
    for usage in _spans(UsageBucket, window):
        if filtered:
            usage = usage.filter(feature__in=features)
        for fid, c, e, s, m in usage.values("feature_id").annotate(
                c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
                m=Max("duration_max_us")).values_list("feature_id", "c", "e", "s", "m"):
            before = totals.get(fid)
            totals[fid] = (c, e, s, m) if before is None else (
                before[0] + c, before[1] + e, before[2] + s, max(before[3], m))
    rows: list[dict[str, Any]] = []
    for pk, name, kind_, service_ in features.values_list("id", "name", "kind", "service"):
        calls, errors, dsum, dmax = totals.get(pk, (0, 0, 0, 0))
        rows.append({
            "id": pk, "name": name, "kind": kind_, "service": service_, "calls": int(calls),
            "errors": int(errors), "error_rate": (errors / calls) if calls else 0.0,
            "avg_us": (dsum / calls) if calls else None, "max_us": int(dmax or 0),
            "p50": None, "p95": None, "p99": None,
        })
    field_name = sort.lstrip("-")
    if field_name not in SORTS:
        sort, field_name = DEFAULT_SORT, DEFAULT_SORT.lstrip("-")
    if field_name in ("p50", "p95", "p99"):
        fill_percentiles(window, rows)
    descending = sort.startswith("-")
    if field_name in ("feature", "kind", "service"):
        attr = "name" if field_name == "feature" else field_name
        rows.sort(key=lambda r: (str(r[attr]).casefold(), r["name"]), reverse=descending)
    else:
        # Missing values (no calls) sort last either way; ties by name.
        present = [r for r in rows if r[field_name] is not None]
        missing = [r for r in rows if r[field_name] is None]
        present.sort(key=lambda r: r["name"])
        present.sort(key=lambda r: r[field_name], reverse=descending)
        rows = present + sorted(missing, key=lambda r: r["name"])
    return rows


def fill_percentiles(window: Window, rows: list[dict[str, Any]]) -> None:
    todo = [r for r in rows if r["calls"] and r["p50"] is None]
    if not todo:
        return
    ids = None if len(todo) > 500 else [r["id"] for r in todo]
    found = percentiles_by_feature(window, ids, {r["id"]: r["max_us"] for r in todo})
    for row in todo:
        row["p50"], row["p95"], row["p99"] = found.get(row["id"], (None, None, None))


def series_by_feature(window: Window, feature_ids: list[int]) -> dict[int, list[int]]:
    """Calls per bucket for each feature (sparklines), zeros filled."""
    positions = {t: i for i, t in enumerate(window.points)}
    result = {fid: [0] * len(positions) for fid in feature_ids}
    for fid, start, calls in _usage(window).filter(feature_id__in=feature_ids).values_list(
            "feature_id", "bucket_start", "calls"):
        position = positions.get(start)
        if position is not None:
            result[fid][position] += calls
    return result


def totals_over_time(window: Window, features: QuerySet[Feature] | None = None,
                     ) -> list[tuple[int, int, int]]:
    """(bucket start, calls, errors) for every bucket of the window."""
    usage = _usage(window)
    if features is not None:
        usage = usage.filter(feature__in=features)
    found = {start: (int(c), int(e)) for start, c, e in usage.values("bucket_start").annotate(
        c=Sum("calls"), e=Sum("errors")).values_list("bucket_start", "c", "e")}
    return [(t, *found.get(t, (0, 0))) for t in window.points]


def latency_over_time(window: Window, feature_id: int,
                      ) -> list[tuple[int, list[float | None]]]:
    """(bucket start, [p50, p95, p99]) for every bucket of the window (None: no calls)."""
    hists: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for start, index, n in _latency(window).filter(feature_id=feature_id).values_list(
            "bucket_start", "bin", "n"):
        hists[start].append((index, n))
    maxes = dict(_usage(window).filter(feature_id=feature_id).values_list(
        "bucket_start", "duration_max_us"))
    return [(t, quantiles(hists[t], PERCENTILES, maxes.get(t)) if t in hists
             else [None, None, None]) for t in window.points]


def recent_errors(feature_id: int, limit: int = 20) -> QuerySet[ErrorSample]:
    return cast("QuerySet[ErrorSample]",
                ErrorSample.objects.filter(feature_id=feature_id).order_by("-time", "-id")[:limit])
