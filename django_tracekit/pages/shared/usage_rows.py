"""The stats rows a window covers, and their totals per feature (every usage page reads them).

Per bucket (charts) the window's own resolution; for totals and percentiles the coarsest
rows that add up to the whole window, one query per span (:meth:`Window.cover`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar, cast

from django.db.models import Max, Model, QuerySet, Sum

from django_tracekit.pages.shared.window import Window
from django_tracekit.storage.usage_models import Feature, LatencyBucket, UsageBucket

M = TypeVar("M", bound=Model)


def usage_rows(window: Window) -> QuerySet[UsageBucket]:
    """Counter rows of the window's buckets (per bucket: charts)."""
    return cast("QuerySet[UsageBucket]", UsageBucket.objects.filter(
        resolution=window.resolution, bucket_start__gte=window.start,
        bucket_start__lt=window.end))


def latency_rows(window: Window) -> QuerySet[LatencyBucket]:
    return cast("QuerySet[LatencyBucket]", LatencyBucket.objects.filter(
        resolution=window.resolution, bucket_start__gte=window.start,
        bucket_start__lt=window.end))


def covering_rows(model: type[M], window: Window) -> Iterator[QuerySet[M]]:
    """Rows that add up to the whole window, the coarsest there are (totals, percentiles):
    one query per span, each one index range (an OR of ranges makes PostgreSQL scan the
    whole table)."""
    for resolution, start, end in window.cover():
        yield cast("QuerySet[M]", model._default_manager.filter(
            resolution=resolution, bucket_start__gte=start, bucket_start__lt=end))


def window_totals(window: Window, features: QuerySet[Feature] | None,
                  ) -> dict[int, tuple[int, ...]]:
    """{feature id: (calls, errors, duration sum, max, N+1, retries, failed attempts, retried
    tasks)} over the window."""
    totals: dict[int, tuple[int, ...]] = {}
    for usage in covering_rows(UsageBucket, window):
        if features is not None:
            usage = usage.filter(feature__in=features)
        for fid, c, e, s, m, n, r, f, t in usage.values("feature_id").annotate(
                c=Sum("calls"), e=Sum("errors"), s=Sum("duration_sum_us"),
                m=Max("duration_max_us"), n=Sum("n_plus_one"), r=Sum("retries"),
                f=Sum("failed_attempts"), t=Sum("retried_tasks")).values_list(
                "feature_id", "c", "e", "s", "m", "n", "r", "f", "t"):
            before = totals.get(fid)
            totals[fid] = (c, e, s, m, n, r, f, t) if before is None else (
                before[0] + c, before[1] + e, before[2] + s, max(before[3], m), before[4] + n,
                before[5] + r, before[6] + f, before[7] + t)
    return totals

